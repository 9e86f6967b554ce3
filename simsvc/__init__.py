"""simsvc: discrete-event simulator of customer service."""
__version__ = "0.1.0"
