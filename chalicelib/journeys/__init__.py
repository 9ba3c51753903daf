"""Booking journeys: the messages a member receives around a booking, and how they are rendered."""
