"""Payments: requests an order owes, attempts through providers, proofs, refunds.

One module per provider behind the ``PaymentGateway`` protocol in ``gateway``; QR
payloads in ``emvco``; the bookkeeping every provider shares in ``ledger``.
"""
