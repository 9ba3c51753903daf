"""Message texts of the booking journey, rendered in a Jinja2 sandbox.

The texts themselves are data: `messages.toml` (one table per message kind, one template per locale) and
`care_tips.toml` (aftercare tips and known follow-up issues per service category) and `lines.toml` (the store's
name every member text starts with, the opt-out line every marketing text ends with). This module loads them
once, renders them with a sandboxed Jinja2 environment, and also renders operator-authored templates with
the same sandbox, variables and filters.

Template variables: `store`, `member`, `booking` (mappings, see `MessageContext`), `care_tip` (the
aftercare tip for `booking.service_category` in the member's locale), `next_day_tip` (its day-after care for a
first visit), `preferences` (what staff remembered of her: favourite_stylist, style_notes, colours, designs --
never her allergies; "" / [] when not known) and `manage_link` (the booking's "manage my booking" link, or "").

Filters (datetimes are shown in the store's time zone, in the member's locale):
    date           zh-CN "11月25日"                en "25 November"
    weekday        zh-CN "星期三"                  en "Wednesday"
    time           "15:00" (24-hour, both locales)
    datetime_long  zh-CN "11月25日（星期三）15:00"  en "Wednesday 25 November, 15:00"

Importing this module is cheap: jinja2 and babel are imported on first render.
"""

from __future__ import annotations

import copy
import functools
import time
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from zoneinfo import ZoneInfo

    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

SUPPORTED_LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"  # most members are Chinese: an empty / missing locale means zh-CN

DEFAULT_CATEGORY = "default"

_HERE = Path(__file__).resolve().parent
# The Babel locale each supported locale formats dates with; the layer keeps only their data (infra/package.py).
BABEL_LOCALES = {"zh-CN": "zh_CN", "en": "en_GB"}

# Context keys the filters read; not meant for templates (they are harmless if a template reads them).
_TZ_KEY = "_chairside_tz"
_LOCALE_KEY = "_chairside_locale"

# Defaults for the documented keys, so a template can always say `store.phone` even when a booking
# system did not send one. A key that is present with value None is treated as missing.
_STORE_DEFAULTS = {"name": "", "address": "", "directions": "", "phone": ""}
_MEMBER_DEFAULTS = {
    "name": "",
    "visits": 0,
    "last_visit_at": "",
    "favourite_service": "",
    "favourite_stylist": "",
    "last_service_category": "",
}
_BOOKING_DEFAULTS = {
    "id": "",
    "duration_minutes": 0,
    "service_name": "",
    "service_category": "",
    "stylist_name": "",
}
# Member care (chalicelib/care/outreach.py): a coupon's code is "" when the message carries none.
_COUPON_DEFAULTS: dict[str, Any] = {"code": "", "offer": "", "expires_at": ""}
_REVIEW_LINK_DEFAULTS: dict[str, Any] = {"label": "", "url": ""}
_CARE_DEFAULTS: dict[str, Any] = {"holiday_name": "", "service_name": "", "weeks": 0}
# What staff remembered of her (services/member_preferences.py), as templates may read it. Allergies are never
# here: they are for staff only, and a member text must not repeat them.
_PREFERENCES_DEFAULTS: dict[str, Any] = {
    "favourite_stylist": "",
    "style_notes": "",
    "colours": [],
    "designs": [],
}

# Operator templates must not be able to build huge values (`{{ 'x' * 10**9 }}`, `{{ 9 ** 10**8 }}`) or
# outputs (a loop printing megabytes). An SMS/chat message is far below these.
_MAX_SEQUENCE_RESULT = 10_000
_MAX_POWER_EXPONENT = 100
_MAX_POWER_RESULT_BITS = 4_096
_MAX_OUTPUT_CHARS = 10_000
# ... nor run long: one render of an operator template may take this many steps (loop iterations, recursive loop
# calls and other calls, nested loops counted in full) and this much CPU time; beyond, TemplateRejected. A real
# campaign text takes a few dozen steps and well under a millisecond.
MAX_RENDER_STEPS = 10_000
MAX_RENDER_CPU_SECONDS = 0.25


class UnknownMessageKind(KeyError):
    """`render` was asked for a message kind that messages.toml does not define."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown message kind"


class TemplateRejected(ValueError):
    """An operator-authored template cannot be used: bad syntax, unsafe access or an undefined variable."""


class _Budget:
    """The steps and CPU time one operator template's render may still use (`_BUDGET`, set by `_render_capped`)."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.thread_time() + MAX_RENDER_CPU_SECONDS

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_RENDER_STEPS:
            raise TemplateRejected(
                f"template takes more than {MAX_RENDER_STEPS} steps (loops and calls) to render"
            )
        if time.thread_time() > self.deadline:
            raise TemplateRejected(f"template takes more than {MAX_RENDER_CPU_SECONDS} s to render")


_BUDGET: ContextVar[_Budget | None] = ContextVar("chairside_template_budget", default=None)


def _budgeted(iterable: Iterable[Any]) -> Iterable[Any]:
    """What every `{% for %}` iterates (the sandbox's parser wraps each loop's iterable in it): counted per item."""
    budget = _BUDGET.get()
    if budget is None:  # the built-in texts of messages.toml / replies.toml: trusted, not budgeted
        return iterable
    return _counted(iterable, budget)


def _counted(iterable: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    for item in iterable:
        budget.step()
        yield item


@dataclass(frozen=True)
class MessageContext:
    """What a message is rendered from.

    locale: the member's locale as the booking system sent it ("zh-CN", "zh", "zh_CN", "en", "en-GB", "");
        normalised with `supported_locale`.
    timezone: IANA zone of the store, e.g. "Asia/Shanghai"; datetimes are shown in it.
    store: name, address, directions, phone (strings, may be "").
    member: name (may be "").
    booking: id, start, end (aware datetimes), duration_minutes (int), service_name, service_category,
        stylist_name.
    Missing (or None) documented keys read as "" (duration_minutes as 0) in templates.
    """

    locale: str
    timezone: str
    store: Mapping[str, Any]
    member: Mapping[str, Any]
    booking: Mapping[str, Any]
    # More top-level variables, e.g. `coupon` (code, offer, expires_at) and `care` for member-care messages;
    # they never replace store, member, booking or care_tip.
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The member's country (ISO 3166-1 alpha-2, see `member_country`): which opt-out line a marketing text ends
    # with. None: the store's country, from `timezone`.
    country: str | None = None


# --------------------------------------------------------------------------------------------- locales


def supported_locale(locale: str | None) -> str:
    """Normalise a booking system's locale to one of SUPPORTED_LOCALES.

    None / "" -> "zh-CN"; any Chinese tag (zh, zh_CN, zh-Hans, zh-TW...) -> "zh-CN"; anything else -> "en".
    """
    if locale is None:
        return DEFAULT_LOCALE
    tag = str(locale).strip()
    if not tag:
        return DEFAULT_LOCALE
    primary = tag.replace("_", "-").split("-", 1)[0].split(".", 1)[0].lower()  # "zh_CN.UTF-8" -> "zh"
    if primary == "zh":
        return "zh-CN"
    return "en"


# ------------------------------------------------------------------------------------------------ data


@functools.cache
def _load_toml(name: str) -> dict[str, Any]:
    with (_HERE / name).open("rb") as fh:
        return tomllib.load(fh)


def _messages() -> dict[str, Any]:
    return _load_toml("messages.toml")


def _replies() -> dict[str, Any]:
    return _load_toml("replies.toml")


def _care_tips() -> dict[str, Any]:
    return _load_toml("care_tips.toml")


def _lines() -> dict[str, Any]:
    return _load_toml("lines.toml")


def session_text(kind: str, key: str) -> str:
    """A text of a member signing in or opening a link (sessions.toml): `key` is a locale or another entry."""
    return str(_load_toml("sessions.toml")[kind][key])


def care_tip(category: str, locale: str) -> str:
    """The aftercare tip for a service category in a locale, falling back to the default category."""
    tips = _care_tips()
    loc = supported_locale(locale)
    entry = tips.get(category) if category else None
    if not isinstance(entry, Mapping) or not entry.get(loc):
        entry = tips[DEFAULT_CATEGORY]
    return str(entry[loc]).strip()


def next_day_tip(category: str, locale: str) -> str:
    """The day-after care of a first visit for a service category (care_tips.toml `next_day`), default's otherwise."""
    tips = _care_tips()
    loc = supported_locale(locale)
    entry = tips.get(category) if category else None
    found = entry.get("next_day") if isinstance(entry, Mapping) else None
    if not isinstance(found, Mapping) or not found.get(loc):
        found = tips[DEFAULT_CATEGORY]["next_day"]
    return str(found[loc]).strip()


def care_issues(category: str) -> list[dict]:
    """Known follow-up issues for a category (its own first, then the default ones); fresh copies."""
    tips = _care_tips()
    issues: list[dict] = []
    entry = tips.get(category) if category and category != DEFAULT_CATEGORY else None
    if isinstance(entry, Mapping):
        issues.extend(entry.get("issues", []))
    issues.extend(tips[DEFAULT_CATEGORY].get("issues", []))
    return copy.deepcopy(issues)


# ------------------------------------------------------------------------------- store name and opt-out


def store_named(text: str, store_name: str | None, locale: str) -> str:
    """`text` starting with the store's name in the member's locale ("【name】" / "name: "), as lines.toml says;
    unchanged when the store has no name or the text already starts with its name (in any locale's form)."""
    if not store_name:
        return text
    forms = _lines()["store_name"]
    if any(text.startswith(form.format(name=store_name).strip()) for form in forms.values()):
        return text
    return forms[supported_locale(locale)].format(name=store_name) + text


def member_country(phone: str | None, timezone: str | None) -> str | None:
    """The member's country (ISO 3166-1 alpha-2): her phone number's, else the store's from its time zone
    (lines.toml); None when neither tells."""
    if phone:
        import phonenumbers

        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            region = None
        if region and region != "ZZ":
            return region
    return _lines()["country_by_timezone"].get(timezone or "")


def opt_out_line(locale: str, country: str | None) -> str:
    """How to stop marketing, in her locale, with her country's keyword: "回复TD退订", "Reply STOP to opt out"."""
    data = _lines()["opt_out"]
    keyword = data["keyword"].get(country or "", data["default_keyword"])
    return data["line"][supported_locale(locale)].format(keyword=keyword)


def with_opt_out(text: str, locale: str, country: str | None) -> str:
    """`text` ending with the opt-out line; unchanged when it already has that line."""
    line = opt_out_line(locale, country)
    if line.casefold() in text.casefold():
        return text
    return _lines()["opt_out"]["ending"][supported_locale(locale)].format(text=text, line=line)


def is_marketing(kind: str) -> bool:
    """Whether a message kind is marketing (ends with the opt-out line): lines.toml's opt_out.kinds."""
    return kind in _lines()["opt_out"]["kinds"]


def from_store(text: str, ctx: MessageContext, *, marketing: bool = False) -> str:
    """What the member reads: `text` starting with the store's name and, when it is marketing, ending with the
    opt-out line of her locale and country. The one place both are added -- journey and care messages
    (`render`), campaign texts (`render_marketing_template`) and staff replies go through it."""
    locale = supported_locale(ctx.locale)
    text = store_named(text, (ctx.store or {}).get("name"), locale)
    if marketing:
        text = with_opt_out(text, locale, ctx.country or member_country(None, ctx.timezone))
    return text


# -------------------------------------------------------------------------------------------- filters


@functools.cache
def _zone(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown store time zone {name!r}") from exc


def _as_local(value: Any, context: Any) -> datetime | date:
    """A datetime in the store's zone (naive datetimes are taken as UTC); dates pass through."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(_zone(context[_TZ_KEY]))
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a datetime, got {type(value).__name__}")


def _babel_locale(context: Any) -> str:
    return BABEL_LOCALES[context[_LOCALE_KEY]]


def _fmt_date(d: date, babel_locale: str) -> str:
    from babel.dates import format_skeleton

    return format_skeleton("MMMMd", d, locale=babel_locale)  # zh_CN "11月25日", en_GB "25 November"


def _fmt_weekday(d: date, babel_locale: str) -> str:
    from babel.dates import format_date

    return format_date(d, "EEEE", locale=babel_locale)  # zh_CN "星期三", en_GB "Wednesday"


def _fmt_time(value: datetime | date) -> str:
    if not isinstance(value, datetime):
        raise TypeError("the time filter needs a datetime, not a date")
    return f"{value.hour:02d}:{value.minute:02d}"  # 24-hour in both locales


def _filter_date(context: Any, value: Any) -> str:
    return _fmt_date(_as_local(value, context), _babel_locale(context))


def _filter_weekday(context: Any, value: Any) -> str:
    return _fmt_weekday(_as_local(value, context), _babel_locale(context))


def _filter_time(context: Any, value: Any) -> str:
    return _fmt_time(_as_local(value, context))


def _filter_datetime_long(context: Any, value: Any) -> str:
    local = _as_local(value, context)
    babel_locale = _babel_locale(context)
    day, weekday, time = _fmt_date(local, babel_locale), _fmt_weekday(local, babel_locale), _fmt_time(local)
    if context[_LOCALE_KEY] == "zh-CN":
        return f"{day}（{weekday}）{time}"
    return f"{weekday} {day}, {time}"


# ------------------------------------------------------------------------------------------ rendering


@functools.cache
def _environment() -> SandboxedEnvironment:
    """The one sandboxed environment, built on first use."""
    from jinja2 import StrictUndefined, nodes, pass_context
    from jinja2.runtime import LoopContext
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    class _Sandbox(ImmutableSandboxedEnvironment):
        # An ImmutableSandboxedEnvironment is a SandboxedEnvironment that also refuses to mutate lists
        # and dicts (`{{ booking.update(...) }}`). On top, cap `*` and `**` so a template cannot
        # allocate gigabytes.
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**":
                if isinstance(right, int | float) and abs(right) > _MAX_POWER_EXPONENT:
                    raise SecurityError("exponent too large in template")
                if (
                    isinstance(left, int)
                    and isinstance(right, int)
                    and abs(left).bit_length() * right > _MAX_POWER_RESULT_BITS
                ):
                    raise SecurityError("power result too large in template")
                return left**right
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if (
                        isinstance(seq, str | list | tuple)
                        and isinstance(n, int)
                        and len(seq) * n > _MAX_SEQUENCE_RESULT
                    ):
                        raise SecurityError("repetition result too large in template")
                return left * right
            return super().call_binop(context, operator, left, right)

        # The render budget (_Budget): every loop's iterable is wrapped in `environment.budgeted(...)` when the
        # template is parsed -- an environment attribute, so no template variable can shadow it -- and every
        # call (macros, recursive `loop(...)`, `range`, methods) is a step.
        budgeted = staticmethod(_budgeted)

        def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
            tree = super()._parse(source, name, filename)
            for loop in tree.find_all(nodes.For):
                loop.iter = nodes.Call(
                    nodes.EnvironmentAttribute("budgeted"), [loop.iter], [], None, None, lineno=loop.lineno
                )
            return tree

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _BUDGET.get()
            if budget is not None:
                budget.step()
                if (
                    isinstance(__obj, LoopContext) and args
                ):  # a recursive loop's next level: its items count too
                    args = (_budgeted(args[0]), *args[1:])
            return super().call(__context, __obj, *args, **kwargs)

    # Plain-text SMS / chat messages, not HTML: autoescaping would corrupt "&", quotes, etc.
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(
        {
            "date": pass_context(_filter_date),
            "weekday": pass_context(_filter_weekday),
            "time": pass_context(_filter_time),
            "datetime_long": pass_context(_filter_datetime_long),
        }
    )
    return env


@functools.cache
def _message_template(kind: str, locale: str) -> Template:
    source = _messages()[kind][locale]
    return _environment().from_string(source)


@functools.cache
def _reply_template(kind: str, locale: str) -> Template:
    return _environment().from_string(_replies()[kind][locale])


@functools.lru_cache(maxsize=256)
def _operator_template(source: str) -> Template:
    return _environment().from_string(source)


def _with_defaults(values: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    merged.update({k: v for k, v in (values or {}).items() if v is not None})
    return merged


def _member_facing(preferences: Mapping[str, Any] | None) -> dict[str, Any]:
    """Her remembered preferences with the defaults, and without what a member text must never carry (allergies)."""
    return _with_defaults(
        {k: v for k, v in (preferences or {}).items() if k in _PREFERENCES_DEFAULTS}, _PREFERENCES_DEFAULTS
    )


def _variables(ctx: MessageContext) -> dict[str, Any]:
    locale = supported_locale(ctx.locale)
    booking = _with_defaults(ctx.booking, _BOOKING_DEFAULTS)
    return {
        **ctx.extra,
        "coupon": _with_defaults(ctx.extra.get("coupon"), _COUPON_DEFAULTS),
        "care": _with_defaults(ctx.extra.get("care"), _CARE_DEFAULTS),
        "store": _with_defaults(ctx.store, _STORE_DEFAULTS),
        "member": _with_defaults(ctx.member, _MEMBER_DEFAULTS),
        "booking": booking,
        "care_tip": care_tip(str(booking["service_category"]), locale),
        "next_day_tip": next_day_tip(str(booking["service_category"]), locale),
        "preferences": _member_facing(ctx.extra.get("preferences")),
        "manage_link": str(ctx.extra.get("manage_link") or ""),
        # Issue 17: the store's review page for the review request (services/feedback.py), empty when none.
        "review_link": _with_defaults(ctx.extra.get("review_link"), _REVIEW_LINK_DEFAULTS),
        _TZ_KEY: ctx.timezone,
        _LOCALE_KEY: locale,
    }


def uses(kind: str, variable: str) -> bool:
    """Whether the `kind` message of messages.toml reads `variable` in any locale (e.g. `manage_link`: only the
    kinds whose texts carry the link get one minted)."""
    return variable in _reads(kind)


@functools.cache
def _reads(kind: str) -> frozenset[str]:
    """Every variable the `kind` message reads in any locale: each text parsed once per container (a delivery
    asks about several variables, and a cold container pays each parse)."""
    from jinja2 import meta

    templates = _messages().get(kind) or {}
    env = _environment()
    return frozenset().union(
        *(
            meta.find_undeclared_variables(env.parse(templates[locale]))
            for locale in SUPPORTED_LOCALES
            if locale in templates
        )
    )


def render(kind: str, ctx: MessageContext) -> str:
    """Render the `kind` message of messages.toml in the member's (normalised) locale, as she reads it: starting
    with the store's name, and a marketing kind ending with her opt-out line (`from_store`)."""
    messages = _messages()
    if kind not in messages:
        raise UnknownMessageKind(f"unknown message kind {kind!r}; known: {', '.join(sorted(messages))}")
    _zone(ctx.timezone)  # fail early and clearly on a bad store zone
    template = _message_template(kind, supported_locale(ctx.locale))
    return from_store(template.render(_variables(ctx)).strip(), ctx, marketing=is_marketing(kind))


def values(ctx: MessageContext) -> dict[str, str]:
    """The message's named, formatted strings for a templated channel (channels.base.Outgoing.values: a WeChat
    template message, mainland-China SMS): the same facts and the same formatting as the rendered text, times in
    the store's zone, 24-hour. A value the message has not got is left out."""
    variables = _variables(ctx)
    store, member, booking = variables["store"], variables["member"], variables["booking"]
    found = {
        "member_name": member.get("name"),
        "store_name": store.get("name"),
        "store_phone": store.get("phone"),
        "address": store.get("address"),
        "service_name": booking.get("service_name"),
        "stylist_name": booking.get("stylist_name"),
        "manage_link": variables["manage_link"],
    }
    start = (ctx.booking or {}).get("start")
    if start is not None:
        found["start_local"] = _filter_datetime_long(variables, start)
        found["date_local"] = _filter_date(variables, start)
        found["time_local"] = _filter_time(variables, start)
    return {name: str(value) for name, value in found.items() if value not in (None, "")}


def render_reply(kind: str, ctx: MessageContext, **extra: Any) -> str:
    """Render an automatic answer to a member's message (replies.toml); `extra` adds variables such
    as `advice`."""
    replies = _replies()
    if kind not in replies:
        raise UnknownMessageKind(f"unknown reply kind {kind!r}; known: {', '.join(sorted(replies))}")
    _zone(ctx.timezone)
    template = _reply_template(kind, supported_locale(ctx.locale))
    return template.render({**_variables(ctx), **extra}).strip()


def _render_capped(template: Template, variables: dict[str, Any]) -> str:
    parts: list[str] = []
    size = 0
    token = _BUDGET.set(_Budget())
    try:
        for chunk in template.generate(variables):
            size += len(chunk)
            if size > _MAX_OUTPUT_CHARS:
                raise TemplateRejected(f"template output is longer than {_MAX_OUTPUT_CHARS} characters")
            parts.append(chunk)
    finally:
        _BUDGET.reset(token)
    return "".join(parts)


def render_marketing_template(source: str, ctx: MessageContext) -> str:
    """An operator's marketing template (a campaign) as the member reads it: rendered, starting with the store's
    name, ending with her opt-out line. The campaign preview and the send both call this."""
    return from_store(render_operator_template(source, ctx), ctx, marketing=True)


def render_operator_template(source: str, ctx: MessageContext) -> str:
    """Render an operator-authored template with the message sandbox, variables and filters.

    Raises TemplateRejected on a syntax error, unsafe access, an undefined variable, or a filter/operation
    that fails on the template's own values.
    """
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
    from jinja2.sandbox import SecurityError

    _zone(ctx.timezone)  # a bad store zone is the caller's problem, not the template's
    try:
        template = _operator_template(source)
    except TemplateSyntaxError as exc:
        raise TemplateRejected(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateRejected(f"template cannot be compiled: {exc}") from exc
    except RecursionError:
        raise TemplateRejected("template is nested too deeply") from None
    try:
        return _render_capped(template, _variables(ctx)).strip()
    except TemplateRejected:
        raise
    except SecurityError as exc:
        raise TemplateRejected(f"template uses something that is not allowed: {exc}") from exc
    except UndefinedError as exc:
        raise TemplateRejected(f"template uses an undefined variable: {exc.message}") from exc
    except TemplateError as exc:
        raise TemplateRejected(f"template error: {exc}") from exc
    except RecursionError:
        raise TemplateRejected("template recurses too deeply (a macro or loop calling itself)") from None
    except (TypeError, ValueError, LookupError, AttributeError, ArithmeticError) as exc:
        raise TemplateRejected(f"template failed to render: {type(exc).__name__}: {exc}") from exc
