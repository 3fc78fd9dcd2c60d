#!/usr/bin/env python3
"""Browser tests of the ImagingX discovery portal in Debian's headless Chromium (Playwright).

    test_portal.py BASE_URL SCREENSHOT_DIR

Every page loads with no console error, no uncaught exception and no failed request; what the
pages show is compared with what the API returns for the same question (counts, marks, totals).
Environment (set by scripts/browser/run): PORTAL_TOKEN_URL and PORTAL_TOKEN name a second server
started with --token-file, for the 401 flow. An endpoint the service does not offer yet (404)
makes its test print SKIP instead of failing; everything else must pass.
"""
import csv
import io
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from playwright.sync_api import sync_playwright

BASE = sys.argv[1].rstrip("/") + "/"
SHOTS = sys.argv[2]
TOKEN_URL = os.environ.get("PORTAL_TOKEN_URL")
TOKEN = os.environ.get("PORTAL_TOKEN")
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 420, "height": 900}
PAGES = ["catalog", "blueprint", "datasets", "dataset", "files", "compat", "plan", "jobs"]

results = []


class Skip(Exception):
    pass


def api(path, method="GET", body=None, base=BASE, token=None):
    """(status, parsed JSON or text) from the live server."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        status = e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def ok(path, **kw):
    status, body = api(path, **kw)
    assert 200 <= status < 300, f"{path}: HTTP {status}: {body}"
    return body


def offered(method, path):
    """Whether the server answers this route (anything but 404 'no such resource')."""
    status, body = api(path, method=method, body={} if method == "POST" else None)
    return not (status == 404 and isinstance(body, dict) and "no such resource" in body.get("message", ""))


def q(params):
    return "?" + urllib.parse.urlencode(params, doseq=True) if params else ""


class Watch:
    """Collects console errors, page errors and failed requests of one page."""

    def __init__(self, page, allow_status=()):
        self.problems = []
        self.allow = set(allow_status)
        page.on("console", self.console)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("requestfailed", self.failed)
        page.on("response", self.response)

    def console(self, m):
        if m.type != "error":
            return
        # Chromium logs every HTTP error response as a console error; those are judged by status below.
        if "Failed to load resource" in m.text and any(f"status of {s}" in m.text for s in self.allow):
            return
        self.problems.append(f"console {m.type}: {m.text} at {m.location.get('url')}")

    def failed(self, r):
        if "blob:" in r.url or r.failure == "net::ERR_ABORTED" and r.resource_type == "document":
            return
        self.problems.append(f"request failed: {r.method} {r.url}: {r.failure}")

    def response(self, r):
        if r.status >= 400 and r.status not in self.allow:
            self.problems.append(f"HTTP {r.status}: {r.request.method} {r.url}")

    def check(self, what):
        assert not self.problems, f"{what}: " + "; ".join(self.problems)


def settle(page):
    try:
        page.wait_for_load_state("networkidle", timeout=2500)
    except Exception:  # noqa: BLE001 - Chromium may never report it after a modal dialog; aria-busy decides
        pass
    page.wait_for_function("() => document.querySelector('main').getAttribute('aria-busy') === 'false'")
    page.wait_for_timeout(150)


def goto(page, hash_, base=BASE):
    page.goto(base + hash_)
    settle(page)


def shot(page, name, full=True):
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=full)


def count(page, selector):
    return page.locator(selector).count()


def wait_text_change(page, selector, old, timeout=10000):
    page.wait_for_function("([s, old]) => { const e = document.querySelector(s); return e && e.textContent !== old; }", arg=[selector, old], timeout=timeout)
    settle(page)


def strict_count(page):
    return int(page.locator("#strict-count").get_attribute("data-count"))


def test(fn):
    def run(browser):
        name = fn.__name__
        t0 = time.time()
        try:
            fn(browser)
            results.append((name, "PASS", ""))
            print(f"PASS {name} ({time.time() - t0:.1f} s)", flush=True)
        except Skip as s:
            results.append((name, "SKIP", str(s)))
            print(f"SKIP {name}: {s}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
            results.append((name, "FAIL", str(e)))
            print(f"FAIL {name}: {e}", flush=True)
            traceback.print_exc()
    run.__name__ = fn.__name__
    return run


def new_page(browser, viewport=WIDE, allow=()):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    return context, page, Watch(page, allow)


def local_datasets():
    return ok("/api/v1/datasets")["items"]


def datasets_with_cases():
    return [d for d in local_datasets() if d["cases"] > d["cases_failed"]]


def page_hash(name):
    if name == "dataset":
        ds = datasets_with_cases()
        return f"#/datasets/{ds[0]['id']}" if ds else "#/datasets"
    return f"#/{name}"


@test
def every_page_loads_clean(browser):
    """Every page, wide and narrow: no console error, no failed request, a heading, no sideways scroll when narrow."""
    for viewport, suffix in ((WIDE, ""), (NARROW, "-narrow")):
        context, page, watch = new_page(browser, viewport)
        for name in PAGES:
            goto(page, page_hash(name))
            assert page.locator("main h1").count() >= 1, f"{name}: no heading"
            assert page.locator("#totals").inner_text().startswith("Index:"), f"{name}: header totals missing: {page.locator('#totals').inner_text()}"
            assert page.locator(".nav a[aria-current=page]").count() == 1, f"{name}: the nav does not mark the page"
            if viewport is NARROW:
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{name}: the narrow page scrolls sideways by {overflow} px"
            shot(page, f"{name}{suffix}", full=viewport is WIDE)
            watch.check(f"{name}{suffix}")
        context.close()


@test
def header_totals_match_health(browser):
    context, page, watch = new_page(browser)
    goto(page, "#/catalog")
    health = ok("/api/v1/health")
    text = page.locator("#totals").inner_text()
    assert f"{health['files']:,} files" in text and f"{health['datasets']:,} datasets" in text, text
    watch.check("header")
    context.close()


@test
def catalog_search_and_facets(browser):
    """Search and facets change the results; every count equals the API's for the same query."""
    context, page, watch = new_page(browser)
    goto(page, "#/catalog")
    everything = ok("/api/v1/catalog/search")
    assert strict_count(page) == len(everything["strict"]), (strict_count(page), len(everything["strict"]))

    old = page.locator("#catalog-summary").inner_text()
    page.fill("#catalog-q", "lung")
    page.press("#catalog-q", "Enter")
    wait_text_change(page, "#catalog-summary", old)
    lung = ok("/api/v1/catalog/search" + q({"q": "lung"}))
    assert strict_count(page) == len(lung["strict"]), ("lung", strict_count(page), len(lung["strict"]))
    assert len(lung["strict"]) < len(everything["strict"]), "the search did not narrow the catalog"

    # Every shown modality count is what selecting it gives (checked through the API), then select the first.
    buttons = page.locator("fieldset[data-facet=modality] .facet-value")
    assert buttons.count() > 0, "no modality facet values"
    for i in range(min(3, buttons.count())):
        v = buttons.nth(i).get_attribute("data-value")
        n = int(buttons.nth(i).get_attribute("data-count"))
        api_n = len(ok("/api/v1/catalog/search" + q({"q": "lung", "modality": v}))["strict"])
        assert n == api_n, f"modality {v}: facet says {n}, the API finds {api_n}"
    first = buttons.nth(0)
    value, expected = first.get_attribute("data-value"), int(first.get_attribute("data-count"))
    old = page.locator("#catalog-summary").inner_text()
    t0 = time.time()
    first.click()
    wait_text_change(page, "#catalog-summary", old)
    print(f"  a facet click re-rendered the catalog in {time.time() - t0:.2f} s (informative, not a limit)")
    assert strict_count(page) == expected, (value, strict_count(page), expected)
    both = ok("/api/v1/catalog/search" + q({"q": "lung", "modality": value}))
    assert strict_count(page) == len(both["strict"])
    # The selected facet keeps counting as if it were not selected (its other values stay choosable).
    other = page.locator("fieldset[data-facet=modality] .facet-value[aria-pressed=false]")
    if other.count():
        v2 = other.nth(0).get_attribute("data-value")
        n2 = int(other.nth(0).get_attribute("data-count"))
        assert n2 == len(ok("/api/v1/catalog/search" + q({"q": "lung", "modality": v2}))["strict"]), f"modality {v2} while {value} is selected"
    # Task counts under both constraints.
    tasks = page.locator("fieldset[data-facet=task] .facet-value")
    for i in range(min(3, tasks.count())):
        v = tasks.nth(i).get_attribute("data-value")
        n = int(tasks.nth(i).get_attribute("data-count"))
        api_n = len(ok("/api/v1/catalog/search" + q({"q": "lung", "modality": value, "task": v}))["strict"])
        assert n == api_n, f"task {v}: facet says {n}, the API finds {api_n}"

    # The disease field is a server constraint like the others.
    old = page.locator("#catalog-summary").inner_text()
    page.fill("#catalog-disease", "cancer")
    page.press("#catalog-disease", "Enter")
    wait_text_change(page, "#catalog-summary", old)
    with_disease = ok("/api/v1/catalog/search" + q({"q": "lung", "modality": value, "disease": "cancer"}))
    assert strict_count(page) == len(with_disease["strict"]), ("disease", strict_count(page), len(with_disease["strict"]))
    old = page.locator("#catalog-summary").inner_text()
    page.fill("#catalog-disease", "")
    page.press("#catalog-disease", "Enter")
    wait_text_change(page, "#catalog-summary", old)

    # Charts follow the filters: one donut slice per distinct value, one bar per anatomy (top 12).
    strict = both["strict"]
    for field, chart in (("modality", "#chart-modality"), ("task", "#chart-task"), ("dim", "#chart-dim")):
        distinct = {v for e in strict for v in e.get(field) or []}
        slices = count(page, f"{chart} path.slice")
        assert slices == len(distinct), f"{field} donut: {slices} slices for {len(distinct)} values"
    anatomy = {v for e in strict for v in e.get("anatomy") or []}
    assert count(page, "#chart-anatomy rect.bar") == min(12, len(anatomy)), ("anatomy bars", count(page, "#chart-anatomy rect.bar"), len(anatomy))

    # Near matches name the constraint they miss.
    near = both["near"]
    assert count(page, "#near-results .miss") == min(50, len(near)), ("near", count(page, "#near-results .miss"), len(near))
    if near:
        first_miss = page.locator("#near-results .miss").first.inner_text()
        assert first_miss == "misses " + near[0]["misses"], (first_miss, near[0]["misses"])

    # Export of the result: the CSV has one row per strict match; the JSON holds the same entries.
    with page.expect_download() as d:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(open(d.value.path(), encoding="utf-8").read())))
    assert len(rows) == len(strict), ("csv rows", len(rows), len(strict))
    assert [r["name"] for r in rows] == [e["name"] for e in strict]
    with page.expect_download() as d:
        page.click("#export-json")
    exported = json.load(open(d.value.path(), encoding="utf-8"))
    assert [e["name"] for e in exported["strict"]] == [e["name"] for e in strict]
    shot(page, "catalog-filtered")

    # Clearing the filters brings everything back; a quick filter works like its facet.
    page.get_by_role("button", name="Clear all").click()
    settle(page)
    page.wait_for_function("n => document.querySelector('#strict-count').dataset.count == n", arg=str(len(everything["strict"])))
    quick = page.locator(".quick-filter[data-key=access][data-value=open]")
    old = page.locator("#catalog-summary").inner_text()
    quick.click()
    wait_text_change(page, "#catalog-summary", old)
    assert quick.get_attribute("aria-pressed") == "true"
    assert strict_count(page) == len(ok("/api/v1/catalog/search" + q({"access": "open"}))["strict"])

    # Year is filtered here: the count equals the API's strict matches of that year.
    years = page.locator("fieldset[data-facet=year] .facet-value")
    if years.count():
        y = years.nth(0).get_attribute("data-value")
        n = int(years.nth(0).get_attribute("data-count"))
        old = page.locator("#catalog-summary").inner_text()
        years.nth(0).click()
        wait_text_change(page, "#catalog-summary", old)
        expected = [e for e in ok("/api/v1/catalog/search" + q({"access": "open"}))["strict"] if str(e.get("year")) == y]
        assert strict_count(page) == len(expected) == n, ("year", y, strict_count(page), len(expected), n)
    watch.check("catalog")
    context.close()


@test
def catalog_anatomy_tree_counts(browser):
    """The anatomy tree's counts (a region includes its parts) equal the server's anatomy search."""
    context, page, watch = new_page(browser)
    goto(page, "#/catalog")
    regions = page.locator("fieldset[data-facet=anatomy] ul.tree > li > .facet-value")
    assert regions.count() > 0, "no anatomy regions"
    nested = count(page, "fieldset[data-facet=anatomy] ul.tree ul .facet-value")
    checked = 0
    for i in range(min(6, regions.count())):
        v = regions.nth(i).get_attribute("data-value")
        n = int(regions.nth(i).get_attribute("data-count"))
        api_n = len(ok("/api/v1/catalog/search" + q({"anatomy": v}))["strict"])
        assert n == api_n, f"anatomy {v}: the tree says {n}, the API finds {api_n}"
        checked += 1
    print(f"  anatomy tree: {checked} regions checked, {nested} nested values shown")
    # Keyboard: Tab reaches a facet value, Enter selects it.
    button = regions.nth(0)
    button.focus()
    old = page.locator("#catalog-summary").inner_text()
    page.keyboard.press("Enter")
    wait_text_change(page, "#catalog-summary", old)
    assert page.locator("fieldset[data-facet=anatomy] .facet-value[aria-pressed=true]").count() == 1
    watch.check("anatomy tree")
    context.close()


@test
def catalog_large_result_renders_incrementally(browser):
    """The whole catalog renders a page of entries at a time; 'Show more' adds the next ones."""
    context, page, watch = new_page(browser)
    t0 = time.time()
    goto(page, "#/catalog")
    first = count(page, "#strict-results li.entry")
    total = strict_count(page)
    assert first == min(50, total), (first, total)
    if total > 50:
        page.locator("#strict-results button.more").click()
        assert count(page, "#strict-results li.entry") == min(150, total)
    print(f"  catalog of {total} entries shown in {time.time() - t0:.2f} s (informative, not a limit)")
    watch.check("catalog paging")
    context.close()


@test
def blueprint_matches_api(browser):
    status, _ = api("/api/v1/catalog/blueprint", method="POST", body={})
    if status == 404:
        raise Skip("POST /api/v1/catalog/blueprint answers 404")
    context, page, watch = new_page(browser, allow=(400,))
    goto(page, "#/blueprint")
    page.wait_for_selector("#bp-total-datasets")
    rules = json.loads(page.locator("#bp-json").input_value())

    def compare(rules):
        expected = ok("/api/v1/catalog/blueprint", method="POST", body=rules)
        assert int(page.locator("#bp-total-datasets").get_attribute("data-value")) == expected["total_datasets"]
        assert int(page.locator("#bp-total-images").get_attribute("data-value")) == expected["total_images"]
        groups = page.locator("#bp-group-list details.group")
        assert groups.count() == len(expected["groups"]), (groups.count(), len(expected["groups"]))
        for i, g in enumerate(expected["groups"]):
            el = groups.nth(i)
            assert el.get_attribute("data-task") == g["task"]
            assert int(el.get_attribute("data-images")) == g["images"]
            assert int(el.get_attribute("data-datasets")) == len(g["datasets"])
            assert el.locator("tbody tr").count() == len(g["datasets"])
        assert json.loads(page.locator("#bp-normalised").inner_text()) == expected["rules"]
        return expected

    compare(rules)
    # Paste JSON: other rules, applied from the text area.
    pasted = {"task_types": ["segmentation", "classification"], "access": ["open", "registration"], "labelled_only": True,
              "min_images": 50, "anatomy": ["brain", "abdomen"], "released_from": 2012, "released_to": 2024, "allow_3d_as_2d": True, "dim": "2D"}
    old = page.locator("#bp-result").inner_text()
    page.fill("#bp-json", json.dumps(pasted))
    page.click("#bp-apply-json")
    wait_text_change(page, "#bp-result", old)
    compare(pasted)
    assert page.locator("#bp-dim").input_value() == "2D" and page.locator("#bp-3das2d").is_checked()
    with page.expect_download() as d:
        page.click("#bp-download-json")
    assert json.load(open(d.value.path(), encoding="utf-8"))["total_images"] == ok("/api/v1/catalog/blueprint", method="POST", body=pasted)["total_images"]
    shot(page, "blueprint-result")
    watch.check("blueprint")
    context.close()


@test
def dataset_pages_plot_every_case(browser):
    """Each dataset page: the spacing scatter has one point per readable case; labels, orientation and failures match the fingerprint."""
    context, page, watch = new_page(browser)
    offers_cases = offered("GET", "/api/v1/datasets/1/cases")
    for d in local_datasets():
        fp = ok(f"/api/v1/datasets/{d['id']}/fingerprint")
        nn = ok(f"/api/v1/datasets/{d['id']}/nnunet-fingerprint")
        goto(page, f"#/datasets/{d['id']}")
        readable = fp["cases"] - len(fp["cases_failed"])
        if offers_cases:
            cases = ok(f"/api/v1/datasets/{d['id']}/cases")["items"]
            expected = len([c for c in cases if not c.get("error") and c.get("spacing") and c.get("dims")])
        else:
            expected = len(nn["spacings"])
        points = count(page, "#plot-spacing circle.point")
        assert points == expected, f"{d['name']}: {points} points for {expected} cases"
        assert expected == readable, f"{d['name']}: {expected} spacings for {readable} readable cases"
        assert count(page, "#plot-labels rect.bar") == min(12, len(fp.get("labels") or [])), f"{d['name']}: label bars"
        assert count(page, "#plot-orientation rect.bar") == min(12, len(fp.get("orientation") or {})), f"{d['name']}: orientation bars"
        shapes = {tuple(s) for s in nn["shapes_after_crop"]} if not offers_cases else {tuple(c["dims"]) for c in cases if not c.get("error") and c.get("dims")}
        assert count(page, "#plot-shapes rect.bar") == min(12, len(shapes)), f"{d['name']}: shape bars"
        if fp.get("intensity_per_channel"):
            assert count(page, "#plot-intensity rect.bar") > 0, f"{d['name']}: no intensity histogram"
        if fp.get("foreground_intensity_per_channel"):
            assert count(page, "#plot-foreground rect.bar") > 0, f"{d['name']}: no foreground histogram"
        if offered("GET", "/api/v1/series"):
            series = ok(f"/api/v1/series?dataset={d['id']}")["items"]
            assert count(page, "#series-table tbody tr") == len(series), f"{d['name']}: series rows"
        failed_links = count(page, "#dataset-issues a[href*='#/files']")
        listed = len(fp["cases_failed"]) + len(fp.get("outliers") or []) + len(fp.get("findings") or {})
        assert failed_links == listed, f"{d['name']}: {failed_links} links for {listed} failed cases, outliers and findings"
    # A failed case's link opens the files page on that file.
    broken = [d for d in local_datasets() if d["cases_failed"]]
    if broken:
        goto(page, f"#/datasets/{broken[0]['id']}")
        page.locator("#dataset-issues a[href*='#/files']").first.click()
        settle(page)
        total = int(page.locator("#files-total").get_attribute("data-total"))
        assert total >= 1, "the failed case's link finds no file"
        failed_path = ok(f"/api/v1/datasets/{broken[0]['id']}/fingerprint")["cases_failed"][0]["path"]
        if total == 1:  # one file: its record opens by itself
            record = json.loads(page.locator("#file-detail pre.record").inner_text())
            assert record["path"].endswith(failed_path) and record["status"] != "ok", (record["path"], failed_path)
    watch.check("dataset pages")
    context.close()


@test
def dataset_thumbnails(browser):
    if not offered("GET", "/api/v1/datasets/1/cases") or not offered("GET", "/api/v1/files/1/thumbnail"):
        raise Skip("GET /api/v1/datasets/{id}/cases or /api/v1/files/{id}/thumbnail answers 404")
    context, page, watch = new_page(browser)
    d = datasets_with_cases()[0]
    goto(page, f"#/datasets/{d['id']}")
    page.click("#show-thumbs")
    page.wait_for_function("() => { const i = [...document.querySelectorAll('#thumbs img')]; return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0); }", timeout=30000)
    sizes = page.evaluate("() => [...document.querySelectorAll('#thumbs img')].map(x => [x.naturalWidth, x.naturalHeight])")
    assert all(0 < w <= 256 and 0 < h <= 256 for w, h in sizes), sizes
    shot(page, "dataset-thumbnails")
    watch.check("thumbnails")
    context.close()


@test
def compat_heatmap(browser):
    if not offered("POST", "/api/v1/compat"):
        raise Skip("POST /api/v1/compat answers 404")
    ids = [d["id"] for d in datasets_with_cases()]
    expected = ok("/api/v1/compat", method="POST", body={"datasets": ids})
    n = len(expected["datasets"])
    context, page, watch = new_page(browser)
    goto(page, "#/compat?ids=" + ",".join(map(str, ids)))
    page.wait_for_selector("#compat-heatmap rect.cell")
    cells = count(page, "#compat-heatmap rect.cell")
    assert cells == n * n, f"{cells} cells for {n} datasets"
    cell = page.locator("#compat-heatmap rect.cell[role=button]").first
    i, j = int(cell.get_attribute("data-i")), int(cell.get_attribute("data-j"))
    a, b = expected["datasets"][i]["name"], expected["datasets"][j]["name"]
    pair = next(p for p in expected["pairs"] if {p["a"], p["b"]} == {a, b})
    assert abs(float(cell.get_attribute("data-score")) - pair["score"]) < 1e-9
    cell.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#factor-table")
    assert count(page, "#factor-table tbody tr") == len(pair["factors"])
    assert count(page, "#groups-table tbody tr") == len(expected["groups"])
    shot(page, "compat-breakdown")
    watch.check("compat")
    context.close()


@test
def plan_page(browser):
    if not offered("POST", "/api/v1/plans"):
        raise Skip("POST /api/v1/plans answers 404")
    nnunet = [d["id"] for d in datasets_with_cases() if d["layout"] == "nnunet"][:2] or [datasets_with_cases()[0]["id"]]
    context, page, watch = new_page(browser)
    goto(page, "#/plan?ids=" + ",".join(map(str, nnunet)))
    page.wait_for_selector("#plan-cases, #plan-result .empty")
    plan_id = page.locator("#plan-result h2").first.inner_text().split()[-1]
    # The plan the page made is the server's plan: its case table has the plan's rows.
    status, exported = api(f"/api/v1/plans/{plan_id}/export?format=mdfp")
    expected_rows = count(page, "#plan-cases tbody tr")
    assert expected_rows > 0
    warnings = count(page, "#plan-warnings li")
    print(f"  plan {plan_id}: {expected_rows} case rows, {warnings} warnings, mdfp export HTTP {status}")
    if offered("GET", f"/api/v1/plans/{plan_id}/export?format=csv"):
        for fmt in ("nnunet", "monai", "mdfp", "csv"):
            with page.expect_download() as d:
                page.click(f"#plan-exports button[data-format={fmt}]")
            assert os.path.getsize(d.value.path()) > 0, f"empty {fmt} export"
    shot(page, "plan-result")
    watch.check("plan")
    context.close()


@test
def files_filters_match_api(browser):
    context, page, watch = new_page(browser)
    goto(page, "#/files")
    first = ok("/api/v1/files?limit=1&count=true")
    assert int(page.locator("#files-total").get_attribute("data-total")) == first["total"]
    assert count(page, "#files-table tbody tr") == min(100, first["total"])
    facets = ok("/api/v1/files/facets")
    if facets["status"].get("error"):
        old = page.locator("#files-summary").inner_text()
        page.select_option("select[data-filter=status]", "error")
        wait_text_change(page, "#files-summary", old)
        assert int(page.locator("#files-total").get_attribute("data-total")) == facets["status"]["error"]
        # The other facets now count within status=error.
        sub = ok("/api/v1/files/facets?status=error")
        for v, n in sub["format"].items():
            assert page.locator(f"select[data-filter=format] option[value='{v}']").inner_text() == f"{v} ({n:,})"
    # One file's record opens.
    page.locator("#files-table tbody tr button.link").first.click()
    page.wait_for_selector("#file-detail pre.record")
    record = json.loads(page.locator("#file-detail pre.record").inner_text())
    assert "path" in record and "status" in record
    # The download holds every file of the current filter (status=error when there are errors).
    shown = int(page.locator("#files-total").get_attribute("data-total"))
    with page.expect_download() as d:
        page.get_by_role("button", name="Download JSONL").click()
    lines = [json.loads(x) for x in open(d.value.path(), encoding="utf-8") if x.strip()]
    assert len(lines) == shown, f"JSONL download: {len(lines)} records for {shown} files"
    with page.expect_download() as d:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(open(d.value.path(), encoding="utf-8", newline="")))
    assert len(rows) == shown, f"CSV download: {len(rows)} rows for {shown} files"
    watch.check("files")
    context.close()


@test
def jobs_progress_reaches_100(browser):
    context, page, watch = new_page(browser)
    goto(page, "#/jobs")
    before = {j["id"] for j in ok("/api/v1/jobs")}
    data = os.environ.get("PORTAL_DATA")
    if data:  # something to read: a new and a changed file
        with open(os.path.join(data, "broken", "notes.txt"), "a", encoding="utf-8") as f:
            f.write("touched by the browser test\n")
    page.locator("#roots-table button[data-root]").first.click()
    page.wait_for_selector("article.job")
    page.wait_for_selector("article.job[data-state=finished]", timeout=120000)
    page.wait_for_function("() => { const b = document.querySelector('article.job[data-state=finished] .progress'); return b && b.getAttribute('aria-valuenow') === '100'; }")
    jobs = [j for j in ok("/api/v1/jobs") if j["id"] not in before]
    assert len(jobs) == 1 and jobs[0]["state"] == "finished", jobs
    job = jobs[0]
    card = page.locator(f"article.job[data-job='{job['id']}']")
    figures = card.locator(".job-figures").first.inner_text()
    assert f"{job['progress']['done']:,} / {job['progress']['seen']:,} files · 100 %" in figures, figures
    errors = job.get("errors") or []
    if errors:
        card.locator("details summary").click()
        assert card.locator("details li").count() == min(200, len(errors))
    shot(page, "jobs-finished")
    # A second job while one runs is refused with a message, never a broken page (409 allowed).
    watch.check("jobs")
    context.close()


@test
def token_flow_asks_once(browser):
    if not TOKEN_URL or not TOKEN:
        raise Skip("no token server (PORTAL_TOKEN_URL, PORTAL_TOKEN)")
    status, _ = api("/api/v1/health", base=TOKEN_URL)
    assert status == 401, f"the token server answers {status} without a token"
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    watch = Watch(page, allow_status=(401,))
    dialogs = []
    page.expose_function("noteDialog", lambda: dialogs.append(1))
    page.add_init_script("""
      const open = HTMLDialogElement.prototype.showModal;
      HTMLDialogElement.prototype.showModal = function () { window.noteDialog(); return open.call(this); };
    """)
    page.goto(TOKEN_URL + "#/catalog")
    page.wait_for_selector("#token-dialog[open]")
    page.fill("#token-input", TOKEN)
    page.click("#token-submit")
    settle(page)
    assert page.locator("#totals").inner_text().startswith("Index:"), page.locator("#totals").inner_text()
    assert strict_count(page) > 0
    for name in ("datasets", "files", "jobs"):
        goto(page, f"#/{name}", base=TOKEN_URL)
        assert not page.locator("#token-dialog[open]").count(), f"asked again on {name}"
    assert len(dialogs) == 1, f"asked {len(dialogs)} times"
    assert page.evaluate("() => sessionStorage.getItem('imagingx.token')") == TOKEN, "the token is not kept in sessionStorage"
    shot(page, "token-after")
    # A wrong token is refused and asked for again, with a note saying so.
    page.evaluate("() => sessionStorage.setItem('imagingx.token', 'wrong-token-0123456789')")
    page.goto(TOKEN_URL + "#/datasets")
    page.wait_for_selector("#token-dialog[open]")
    assert "refused" in page.locator("#token-note").inner_text()
    shot(page, "token-dialog")
    page.fill("#token-input", TOKEN)
    page.click("#token-submit")
    settle(page)
    assert count(page, "#datasets-table tbody tr") > 0
    watch.check("token flow")
    context.close()


def main():
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            for t in (every_page_loads_clean, header_totals_match_health, catalog_search_and_facets, catalog_anatomy_tree_counts,
                      catalog_large_result_renders_incrementally, blueprint_matches_api, dataset_pages_plot_every_case,
                      dataset_thumbnails, compat_heatmap, plan_page, files_filters_match_api, jobs_progress_reaches_100,
                      token_flow_asks_once):
                only = os.environ.get("PORTAL_TESTS")
                if only and t.__name__ not in only.split(","):
                    continue
                t(browser)
        finally:
            browser.close()
    failed = [r for r in results if r[1] == "FAIL"]
    print(f"browser tests: {sum(r[1] == 'PASS' for r in results)} passed, {len(failed)} failed, {sum(r[1] == 'SKIP' for r in results)} skipped")
    print(f"screenshots: {os.path.abspath(SHOTS)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
