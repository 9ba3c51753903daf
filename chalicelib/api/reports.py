"""An owner's reports (issue 17): rows of figures per store, stylist, channel or week, as JSON or CSV."""

from chalice import Blueprint, Response

from chalicelib.api.staff import query_param, staff_route
from chalicelib.bootstrap import container
from chalicelib.services.auth import Staff

reports = Blueprint(__name__)
PARAMS = ("from", "to", "store", "group_by")


@staff_route(reports, "/v1/chains/{chain_id}/reports", methods=["GET"])
def chain_report(staff: Staff, chain_id: str):
    service = container().reports
    csv_wanted = service.wants_csv(query_param(reports, "format"))
    answer = service.report(staff, chain_id, {name: query_param(reports, name) for name in PARAMS})
    if not csv_wanted:
        return answer
    return Response(
        body=service.as_csv(answer),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="report-{answer["from"]}-{answer["to"]}.csv"',
        },
    )
