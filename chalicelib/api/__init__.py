"""Chalice blueprints: parse the request, call one service, shape the response."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.settings import local_dir_from_env


def register(app: Chalice) -> None:
    from chalicelib.api.booking_page import booking_page
    from chalicelib.api.bookings import bookings
    from chalicelib.api.campaigns import campaigns
    from chalicelib.api.catalogue import catalogue
    from chalicelib.api.channels import channels
    from chalicelib.api.console import console
    from chalicelib.api.health import health
    from chalicelib.api.inbox import conversations
    from chalicelib.api.member_privacy_routes import privacy
    from chalicelib.api.member_sessions_routes import sessions  # members signing in, their links (issue 14)
    from chalicelib.api.members import members
    from chalicelib.api.waitlist import waitlist
    from chalicelib.api.webhooks import webhooks

    app.register_blueprint(health)
    app.register_blueprint(webhooks)
    app.register_blueprint(members)
    app.register_blueprint(privacy)
    app.register_blueprint(conversations)
    app.register_blueprint(channels)
    app.register_blueprint(bookings)
    app.register_blueprint(console)
    app.register_blueprint(campaigns)
    app.register_blueprint(booking_page)
    app.register_blueprint(sessions)
    app.register_blueprint(catalogue)
    app.register_blueprint(waitlist)
    # staff corrections of an understood intent (issue 16)
    from chalicelib.api.corrections import corrections

    app.register_blueprint(corrections)
    # self-booking (issue 14)
    from chalicelib.api.self_booking import self_booking

    app.register_blueprint(self_booking)
    # one-click unsubscribe from marketing email (issue 15)
    from chalicelib.api.unsubscribe import unsubscribe

    app.register_blueprint(unsubscribe)
    # mainland SMS providers' delivery receipts (issue 15)
    from chalicelib.api.sms_receipts import sms_receipts

    app.register_blueprint(sms_receipts)
    # staff presence and who has a hand-off (issue 17 part 3)
    from chalicelib.api.presence import presence

    app.register_blueprint(presence)
    # an owner's reports (issue 17)
    from chalicelib.api.reports import reports

    app.register_blueprint(reports)
    # what owners and managers set for issue 17's features: review links, manager phone, hand-off limit, feedback
    from chalicelib.api.settings_routes import settings_routes

    app.register_blueprint(settings_routes)
    if local_dir_from_env() is not None:
        from chalicelib.api.local import local

        app.register_blueprint(local)
