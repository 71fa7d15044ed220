"""Delivery: how a GO's parcels reach its buyers.

Shipping options per GO with their fees (``fees``), pickup slots taken like stock and a
buyer's choice of option (``options``), the address book (``addresses``), tracking
numbers and carrier links (``shipments``, ``carriers``) and the packing list (``packing``).
One buyer's orders in one GO travel as one parcel, for one fee.
"""
