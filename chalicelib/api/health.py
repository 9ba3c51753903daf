from chalice import Blueprint

health = Blueprint(__name__)


@health.route("/v1/health", methods=["GET"])
def get_health() -> dict:
    return {"status": "ok"}
