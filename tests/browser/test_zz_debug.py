import time, json
from devstack.client import http
def test_debug(driver, stack):
    driver.set_window_size(390, 844)
    print(http("GET", stack.api + "/v1/stores/sh-jingan/catalog"))
    driver.get(stack.api + "/book/sh-jingan")
    time.sleep(3)
    print(driver.page_source[:3000])
    print(driver.get_log("browser"))
    print(json.dumps({k: v for k, v in stack.info.items() if k != "stores"}, default=str)[:500])
    print(stack.info["stores"][0])
