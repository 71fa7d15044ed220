"""SMS and WhatsApp through Twilio: signed webhooks in, numbered replies out."""
