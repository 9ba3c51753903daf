from chalice import Blueprint

from chalicelib.api.member import member_route
from chalicelib.api.staff import JSON_TYPES, query_param, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff
from chalicelib.services.member_tokens import Member

members = Blueprint(__name__)
BASE = "/v1/stores/{store_id}/members/{member_id}"


@staff_route(members, BASE + "/messages", methods=["GET"])
def member_messages(staff: Staff, store_id: str, member_id: str):
    return container().message_history.member_messages(
        staff,
        store_id,
        member_id,
        query_param(members, "limit"),
        query_param(members, "cursor"),
        query_param(members, "since_seq"),
    )


@staff_route(members, BASE, methods=["GET"])
def member_profile(staff: Staff, store_id: str, member_id: str):
    return container().member_profiles.profile(staff, store_id, member_id)


@staff_route(members, BASE + "/tags", methods=["POST"], body=True)
def member_tags(staff: Staff, body: dict, store_id: str, member_id: str):
    return container().member_profiles.tags(staff, store_id, member_id, body)


@staff_route(members, BASE + "/notes", methods=["POST"], body=True)
def member_notes(staff: Staff, body: dict, store_id: str, member_id: str):
    return container().member_profiles.add_note(staff, store_id, member_id, body)


@staff_route(members, BASE + "/preferences", methods=["PUT"], body=True, content_types=JSON_TYPES)
def member_preferences(staff: Staff, body: dict, store_id: str, member_id: str):
    return container().member_profiles.set_preferences(staff, store_id, member_id, body)


@member_route(members, "/v1/stores/{store_id}/me/channel", methods=["GET"])
def my_channel(member: Member, store_id: str):
    """Her own choice of channel (issue 15): member token."""
    return container().member_channel.mine(member, store_id)


@member_route(members, "/v1/stores/{store_id}/me/channel", methods=["PUT"], body=True)
def choose_my_channel(member: Member, body: dict, store_id: str):
    return container().member_channel.choose(member, store_id, body)


@member_route(members, "/v1/stores/{store_id}/me/messages", methods=["GET"])
def my_messages(member: Member, store_id: str):
    """Her own conversation with the store (issue 15): member token."""
    return container().message_history.my_messages(
        member,
        store_id,
        query_param(members, "limit"),
        query_param(members, "cursor"),
        query_param(members, "since_seq"),
    )
