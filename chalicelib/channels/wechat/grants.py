"""One one-time subscription-message grant as stored on her profile (dal/wechat_follow.py): "<template id>
<grant id>", the grant id derived from the WeChat event that gave it (so a duplicate delivery is the same element).
"""


def grant_element(template_id: str, grant_id: str) -> str:
    return f"{template_id} {grant_id}"


def template_of(element: str) -> str:
    return element.split(" ", 1)[0]
