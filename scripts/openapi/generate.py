#!/usr/bin/env python3
"""Writes Sources/ImagingXService/Resources/openapi.json, the API's contract (served at /openapi.json).
Edit this file, run it, commit both. The catalog enums come from the Swift vocabulary, so the
document never allows a term the server refuses (schemathesis checks both ways)."""
import json, os, re
here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.join(here, "..", "..")
src = open(os.path.join(repo, "Sources/ImagingXMDFP/Catalog/Vocabulary.swift")).read()
def block(name):
    i = src.index(name); j = src.index("]\n\n", i) if "]\n\n" in src[i:] else src.index("]\n", i)
    return re.findall(r'"([^"]+)": \[?([^\]\n,]*(?:,[^\]\n]*)*)\]?', src[i:j])
def terms(name, drop_empty):
    i = src.index(name); j = src.index("\n    ]\n", i)
    pairs = re.findall(r'"([^"]+)": (\[[^\]]*\]|nil|"[^"]*")', src[i:j])
    return [k for k, v in pairs if not (drop_empty and v == "[]")]
mods = terms("static let modalityTerms", True)
vocab = {"tasks": sorted(set(terms("static let taskTerms", False))),
         "anatomy": sorted(set(terms("public static let anatomyParent", False) + terms("static let anatomySynonyms", True))),
         "modality": sorted(set(mods + [m.upper() for m in mods]))}
for k in vocab: vocab[k] = [x for x in vocab[k] if " " not in x and "+" not in x]
BIG=9007199254740991
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def err(desc): return {"description": desc, "content": {"application/json": {"schema": ref("Error")}}}
def ok(schema, desc="OK", ctype="application/json"): return {"description": desc, "content": {ctype: {"schema": schema}}}
common = {"400": err("Malformed request: the message says which parameter and why"), "401": err("A token is configured and the request has none or a wrong one")}
def op(summary, responses, params=None, body=None, opid=None, tags=None):
    o = {"summary": summary, "operationId": opid, "responses": {**responses, **common}}
    if tags: o["tags"] = tags
    if params: o["parameters"] = params
    if body: o["requestBody"] = body
    return o
def q(name, schema, desc):
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}
idp = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": BIG}}
nullable = lambda t: {"type": [t, "null"]}
filters = [
    q("root", {"type": "integer", "minimum": 0, "maximum": BIG}, "Root id"),
    q("dataset", {"type": "integer", "minimum": 0, "maximum": BIG}, "Dataset id"),
    q("format", {"type": "string", "minLength": 1, "maxLength": 1024}, "Record format: dicom, nifti1, nifti2, analyze, png, jpeg, metaimage, nrrd, unknown"),
    q("modality", {"type": "string", "minLength": 1, "maxLength": 1024}, "DICOM modality (CT, MR, …)"),
    q("status", {"type": "string", "enum": ["ok", "error", "unsupported"]}, "Record status"),
    q("dtype", {"type": "string", "minLength": 1, "maxLength": 1024}, "Data type (int16, float32, rgb24, …)"),
    q("finding", {"type": "string", "minLength": 1, "maxLength": 1024}, "A finding code the file carries"),
    q("path", {"type": "string", "minLength": 1, "maxLength": 1024}, "Substring of the root-relative path"),
    q("ndim", {"type": "integer", "minimum": 0, "maximum": BIG}, "Number of dimensions"),
]
for a in "xyz":
    filters += [q(f"min_dim_{a}", {"type": "integer", "minimum": 0, "maximum": BIG}, f"Smallest size along {a}"),
                q(f"max_dim_{a}", {"type": "integer", "minimum": 0, "maximum": BIG}, f"Largest size along {a}"),
                q(f"min_spacing_{a}", {"type": "number"}, f"Smallest spacing along {a} (mm)"),
                q(f"max_spacing_{a}", {"type": "number"}, f"Largest spacing along {a} (mm)")]
page = [q("cursor", {"type": "string", "pattern": "^[0-9]{1,18}$"}, "next_cursor of the previous page"),
        q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "Page size (1–1000)")]
record = {"type": "object", "description": "A scan record (README, 'The record'): the same keys `imagingx scan` writes.",
          "required": ["path", "format", "status", "findings"],
          "properties": {"path": {"type": "string"}, "format": {"type": "string"}, "status": {"type": "string", "enum": ["ok", "error", "unsupported"]},
                         "error": nullable("string"), "error_code": nullable("string"), "error_offset": nullable("integer"),
                         "size_bytes": {"type": "integer"}, "dims": {"type": ["array", "null"], "items": {"type": "integer"}},
                         "spacing": {"type": ["array", "null"], "items": {"type": ["number", "null"]}},
                         "dtype": nullable("string"), "channels": nullable("integer"), "bits_stored": nullable("integer"),
                         "modality": nullable("string"), "axcodes": nullable("string"), "series_key": nullable("string"),
                         "affine": {"type": ["array", "null"], "items": {"type": "array", "items": {"type": ["number", "null"]}}},
                         "findings": {"type": "array", "items": {"type": "object", "required": ["code", "level", "message"],
                                      "properties": {"code": {"type": "string"}, "level": {"type": "string", "enum": ["info", "warning", "error"]}, "message": {"type": "string"}}}},
                         "stats": {"type": ["object", "null"]}, "stats_error": nullable("string")}}
progress = {"type": "object", "required": ["root", "seen", "done", "read", "bytes", "walkFinished", "seconds", "phase"],
            "properties": {"root": {"type": "string"}, "seen": {"type": "integer"}, "done": {"type": "integer"}, "read": {"type": "integer"},
                           "bytes": {"type": "integer"}, "walkFinished": {"type": "boolean"}, "seconds": {"type": "number"}, "phase": {"type": "string"}}}
outcome = {"type": "object", "properties": {k: {"type": "integer"} for k in ["seen", "read", "unchanged", "removed", "errors", "bytes", "datasets_fingerprinted", "datasets_kept"]} | {"path": {"type": "string"}, "available": {"type": "boolean"}, "reason": {"type": "string"}}}
job = {"type": "object", "required": ["id", "root", "state", "started_at", "progress", "errors"],
       "properties": {"id": {"type": "integer"}, "root": {"type": "string"}, "state": {"type": "string", "enum": ["running", "finished", "failed", "cancelled"]},
                      "started_at": {"type": "string"}, "finished_at": {"type": "string"}, "progress": ref("Progress"), "outcome": ref("RootOutcome"),
                      "error": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object", "required": ["path", "message"], "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}}}
root = {"type": "object", "required": ["id", "path", "available", "files", "with_stats"],
        "properties": {"id": {"type": "integer"}, "path": {"type": "string"}, "available": {"type": "boolean"}, "unavailable_reason": {"type": "string"},
                       "indexed_at": {"type": "string"}, "files": {"type": "integer"}, "with_stats": {"type": "boolean"}}}
dataset = {"type": "object", "required": ["id", "root_id", "root", "folder", "name", "layout", "files", "bytes", "cases", "cases_failed"],
           "properties": {"id": {"type": "integer"}, "root_id": {"type": "integer"}, "root": {"type": "string"}, "folder": {"type": "string"},
                          "name": {"type": "string"}, "layout": {"type": "string"}, "modality": {"type": "string"}, "files": {"type": "integer"},
                          "bytes": {"type": "integer"}, "cases": {"type": "integer"}, "cases_failed": {"type": "integer"},
                          "catalog_id": {"type": "string"}, "fingerprinted_at": {"type": "string"}}}
entry = {"type": "object", "required": ["name"], "description": "A catalog entry (README, 'catalog')", "properties": {"name": {"type": "string"}}}
doc = {
 "openapi": "3.1.0",
 "info": {"title": "ImagingX service", "version": "0.7.0",
          "description": "The ImagingX index over HTTP: roots and index jobs, indexed files and datasets, the survey catalog. Errors are JSON {code, message}. With a token configured (`serve --token-file`), every /api/ request needs `Authorization: Bearer TOKEN`."},
 "servers": [{"url": "/"}],
 "components": {
   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
   "schemas": {
     "Error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
     "Record": record, "Progress": progress, "RootOutcome": outcome, "Job": job, "Root": root, "Dataset": dataset, "CatalogEntry": entry,
     "File": {"type": "object", "required": ["id", "root", "dataset_id", "record"], "properties": {"id": {"type": "integer"}, "root": {"type": "string"}, "dataset_id": nullable("integer"), "record": ref("Record")}},
   }},
 "security": [{}, {"bearer": []}],
 "paths": {
  "/api/v1/health": {"get": op("Liveness and index totals", {"200": ok({"type": "object", "required": ["status", "files", "datasets", "roots", "jobs_running"], "properties": {"status": {"const": "ok"}, "files": {"type": "integer"}, "datasets": {"type": "integer"}, "roots": {"type": "integer"}, "jobs_running": {"type": "integer"}}})}, opid="health", tags=["service"])},
  "/api/v1/version": {"get": op("Versions of the service, the index schema and the API", {"200": ok({"type": "object", "required": ["version", "schema", "api"], "properties": {"version": {"type": "string"}, "schema": {"type": "string"}, "api": {"type": "string"}}})}, opid="version", tags=["service"])},
  "/api/v1/roots": {"get": op("Indexed roots", {"200": ok({"type": "array", "items": ref("Root")})}, opid="listRoots", tags=["index"])},
  "/api/v1/jobs": {
     "get": op("Index jobs, newest first", {"200": ok({"type": "array", "items": ref("Job")})}, opid="listJobs", tags=["index"]),
     "post": op("Start re-indexing a root (a path inside a configured root)", {"202": ok(ref("Job"), "Started"), "403": err("The path is not inside a configured root"), "409": err("A job on that root is running"), "413": err("Body over 1 MiB")},
                body={"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["root"], "properties": {"root": {"type": "string", "minLength": 1, "maxLength": 4096}}}}}}, opid="startJob", tags=["index"])},
  "/api/v1/jobs/{id}": {
     "get": op("One job's progress", {"200": ok(ref("Job")), "404": err("No such job")}, params=[idp], opid="getJob", tags=["index"])},
  "/api/v1/jobs/{id}/cancel": {
     "post": op("Cancel a job (it stops after its current batch; the index stays consistent)", {"200": ok(ref("Job")), "404": err("No such job")}, params=[idp], opid="cancelJob", tags=["index"])},
  "/api/v1/files": {"get": op("Indexed files, filtered, one page at a time (ordered by id)", {"200": ok({"type": "object", "required": ["items", "next_cursor", "total"], "properties": {"items": {"type": "array", "items": ref("File")}, "next_cursor": {"type": ["string", "null"]}, "total": {"type": ["integer", "null"], "description": "Matching files, with count=true (else null)"}}})}, params=filters + page + [q("count", {"type": "string", "enum": ["true", "false"]}, "Also count every match (costs a pass over them)")], opid="listFiles", tags=["files"])},
  "/api/v1/files/facets": {"get": op("Counts by format, modality, status, dtype and finding over the filtered files", {"200": ok({"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}}})}, params=filters, opid="fileFacets", tags=["files"])},
  "/api/v1/files/download": {"get": op("The filtered records as `scan` writes them, streamed", {"200": {"description": "CSV or JSON Lines", "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}},
        params=filters + [q("output", {"type": "string", "enum": ["csv", "jsonl"]}, "csv (default jsonl)"), q("stats", {"type": "string", "enum": ["true", "false"]}, "Add stats columns")], opid="downloadFiles", tags=["files"])},
  "/api/v1/files/{id}": {"get": op("One file", {"200": ok(ref("File")), "404": err("No such file")}, params=[idp], opid="getFile", tags=["files"])},
  "/api/v1/datasets": {"get": op("Indexed datasets", {"200": ok({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": ref("Dataset")}}})},
        params=[q("modality", {"type": "string"}, "Most frequent modality"), q("layout", {"type": "string"}, "nnunet, msd, kits, brats, datalist or plain"), q("q", {"type": "string"}, "Name contains"), q("sort", {"type": "string", "enum": ["name", "files", "cases", "bytes"]}, "Order")], opid="listDatasets", tags=["datasets"])},
  "/api/v1/datasets/{id}": {"get": op("One dataset", {"200": ok(ref("Dataset")), "404": err("No such dataset")}, params=[idp], opid="getDataset", tags=["datasets"])},
  "/api/v1/datasets/{id}/fingerprint": {"get": op("The dataset's fingerprint, as `imagingx fingerprint` prints it", {"200": ok({"type": "object"}), "404": err("No such dataset")}, params=[idp], opid="getFingerprint", tags=["datasets"])},
  "/api/v1/datasets/{id}/nnunet-fingerprint": {"get": op("nnU-Net v2 dataset_fingerprint.json", {"200": ok({"type": "object", "required": ["spacings", "shapes_after_crop"]}), "404": err("No such dataset")}, params=[idp], opid="getNnunetFingerprint", tags=["datasets"])},
  "/api/v1/catalog": {"get": op("The whole catalog (imported, else the starter catalog)", {"200": ok({"type": "object", "required": ["source", "entries"], "properties": {"source": {"type": "string"}, "entries": {"type": "array", "items": ref("CatalogEntry")}}}), "503": err("The catalog file cannot be read")}, opid="getCatalog", tags=["catalog"])},
  "/api/v1/catalog/search": {"get": op("Strict matches and near matches (one constraint missed, named)", {"200": ok({"type": "object", "required": ["catalog", "strict", "near", "warnings"], "properties": {"catalog": {"type": "string"}, "warnings": {"type": "array", "items": {"type": "string"}}, "strict": {"type": "array", "items": ref("CatalogEntry")}, "near": {"type": "array", "items": {"type": "object", "required": ["entry", "misses"], "properties": {"entry": ref("CatalogEntry"), "misses": {"type": "string"}}}}}}), "503": err("The catalog file cannot be read")},
        params=[q("q", {"type": "string", "minLength": 1, "maxLength": 1024}, "Free text (a query of stop words only is ignored, with a warning)"), {"name": "modality", "in": "query", "schema": {"type": "array", "items": {"type": "string", "enum": vocab["modality"]}}, "style": "form", "explode": True, "description": "Modalities (all required)"},
                q("anatomy", {"type": "string", "enum": vocab["anatomy"]}, "Anatomy (a region finds its parts)"), q("task", {"type": "string", "enum": vocab["tasks"]}, "Task"), q("dim", {"type": "string", "enum": ["2D", "3D", "4D", "video", "2d", "3d", "4d"]}, "Dimension"), q("access", {"type": "string", "minLength": 1, "maxLength": 1024}, "Access (open, registration, application, …)"),
                q("platform", {"type": "string", "minLength": 1, "maxLength": 1024}, "Platform (tcia, grand-challenge, physionet, kaggle, …)"), q("disease", {"type": "string", "minLength": 1, "maxLength": 1024}, "Disease words"), q("labelled", {"type": "string", "enum": ["true", "false"]}, "Labelled only")], opid="searchCatalog", tags=["catalog"])},
  "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "responses": {"200": ok({"type": "object"})}}},
 }}

doc["paths"]["/api/v1/datasets/{id}/cases"] = {"get": op("The dataset's cases as summarised (geometry, label voxels, errors) with the id of each case's first file", {"200": ok({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object", "required": ["id", "images", "dims", "spacing", "label_voxels", "findings"], "properties": {"id": {"type": "string"}, "images": {"type": "array", "items": {"type": "string"}}, "label": {"type": "string"}, "dims": {"type": "array", "items": {"type": "integer"}}, "spacing": {"type": "array", "items": {"type": ["number", "string"]}}, "axcodes": {"type": "string"}, "modality": {"type": "string"}, "dtype": {"type": "string"}, "label_voxels": {"type": "object", "additionalProperties": {"type": "integer"}}, "error": {"type": "string"}, "findings": {"type": "array", "items": {"type": "string"}}, "file_id": {"type": "integer"}}}}}}), "404": err("No such dataset")}, params=[idp], opid="getDatasetCases", tags=["datasets"])}
doc["paths"]["/api/v1/catalog/vocabulary"] = {"get": op("The controlled vocabularies the catalog is normalised to: the anatomy tree (term → parent region, null at the top), task, modality and dimension terms", {"200": ok({"type": "object", "required": ["anatomy", "tasks", "modalities", "dims"], "properties": {"anatomy": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}, "tasks": {"type": "array", "items": {"type": "string"}}, "modalities": {"type": "array", "items": {"type": "string"}}, "dims": {"type": "array", "items": {"type": "string"}}}})}, opid="getVocabulary", tags=["catalog"])}
doc["paths"]["/api/v1/series"] = {"get": op("DICOM series volumes (the `imagingx series` records: geometry flags, spacing, affine), by dataset", {"200": ok({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object", "required": ["id", "dataset_id", "series"], "properties": {"id": {"type": "integer"}, "dataset_id": {"type": ["integer", "null"]}, "series": {"type": "object", "required": ["series_key", "files", "assembled", "regular_volume"]}}}}}})}, params=[q("dataset", {"type": "integer", "minimum": 0, "maximum": BIG}, "Dataset id")], opid="listSeries", tags=["datasets"])}
doc["paths"]["/api/v1/files/{id}/thumbnail"] = {"get": op("A PNG of the file's middle slice (CT: soft-tissue window; else p0.5–p99.5), at most 256 px", {"200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}, "403": err("The file now resolves outside its root"), "404": err("No such file, gone from disk, or no decodable pixels (code no_thumbnail)")}, params=[idp], opid="getThumbnail", tags=["files"])}
weights = {"type": "object", "propertyNames": {"enum": ["modality", "dim", "task", "anatomy", "labels", "spacing", "intensity", "dtype", "channels", "orientation", "licence"]}, "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100}, "description": "Factor weights: modality, dim, task, anatomy, labels, spacing, intensity, dtype, channels, orientation, licence"}
doc["paths"]["/api/v1/compat"] = {"post": op("Pairwise compatibility with per-factor breakdowns, and fusion groups, of indexed datasets (from their stored fingerprints)",
   {"200": ok({"type": "object", "required": ["id", "datasets", "pairs", "groups", "threshold"], "properties": {"id": {"type": "integer"}, "datasets": {"type": "array", "items": {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}, "pairs": {"type": "array", "items": {"type": "object", "required": ["a", "b", "score", "gated", "factors"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "score": {"type": "number"}, "gated": {"type": "boolean"}, "factors": {"type": "array", "items": {"type": "object", "required": ["name", "score", "weight", "reason"]}}}}}, "groups": {"type": "array"}, "threshold": {"type": "number"}}}),
    "404": err("A dataset id is unknown"), "409": err("A dataset has no fingerprint yet"), "413": err("Body over 1 MiB")},
   body={"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["datasets"], "properties": {"datasets": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": BIG}, "minItems": 2, "maxItems": 50, "uniqueItems": True}, "weights": weights, "threshold": {"type": "number", "minimum": 0, "maximum": 1}}}}}}, opid="compat", tags=["fusion"])}
doc["paths"]["/api/v1/plans"] = {"post": op("A resampling/normalisation plan of indexed datasets (nnU-Net's target rule in the RAS frame), kept for export",
   {"200": ok({"type": "object", "required": ["id", "plan"], "properties": {"id": {"type": "integer"}, "plan": {"type": "object"}}}), "404": err("A dataset id is unknown"), "409": err("A dataset has no fingerprint yet"), "413": err("Body over 1 MiB")},
   body={"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["datasets"], "properties": {"datasets": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": BIG}, "minItems": 1, "maxItems": 50, "uniqueItems": True}, "target": {"oneOf": [{"const": "auto"}, {"type": "array", "items": {"type": "number", "minimum": 0.001, "maximum": 1000}, "minItems": 3, "maxItems": 3}]}}}}}}, opid="makePlan", tags=["fusion"])}
doc["paths"]["/api/v1/plans/{id}"] = {"get": op("A kept plan and its request", {"200": ok({"type": "object", "required": ["id", "request", "plan"]}), "404": err("No such plan")}, params=[idp], opid="getPlan", tags=["fusion"])}
doc["paths"]["/api/v1/plans/{id}/export"] = {"get": op("One export of a kept plan, made from the index as it is now: nnU-Net dataset.json, MONAI datalist.json, MDFP data-meta.jsonl or plan.csv",
   {"200": {"description": "The export file", "content": {"application/json": {"schema": {}}, "application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}, "404": err("No such plan"), "409": err("A dataset has lost its fingerprint")},
   params=[idp, q("format", {"type": "string", "enum": ["nnunet", "monai", "mdfp", "csv"]}, "Which export")], opid="exportPlan", tags=["fusion"])}
doc["paths"]["/api/v1/catalog/blueprint"] = {"post": op("The survey's MDFP blueprint: rules applied to the catalog, candidate groups per task type with image totals",
   {"200": ok({"type": "object", "required": ["rules", "groups", "total_images", "total_datasets", "excluded"], "properties": {"rules": {"type": "object"}, "groups": {"type": "array", "items": {"type": "object", "required": ["task", "datasets", "images"]}}, "total_images": {"type": "integer"}, "total_datasets": {"type": "integer"}, "excluded": {"type": "object", "additionalProperties": {"type": "integer"}}}}), "413": err("Body over 1 MiB"), "503": err("The catalog file cannot be read")},
   body={"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {"task_types": {"type": ["array", "null"], "items": {"type": "string", "enum": vocab["tasks"]}}, "access": {"type": ["array", "null"], "items": {"type": "string"}}, "labelled_only": {"type": ["boolean", "null"]}, "min_images": {"type": ["integer", "null"], "minimum": 0, "maximum": BIG}, "anatomy": {"type": ["array", "null"], "items": {"type": "string", "enum": vocab["anatomy"]}}, "released_from": {"type": ["integer", "null"], "minimum": 1900, "maximum": 2100}, "released_to": {"type": ["integer", "null"], "minimum": 1900, "maximum": 2100}, "allow_3d_as_2d": {"type": ["boolean", "null"]}, "dim": {"type": ["string", "null"], "enum": ["2D", "3D", None]}}}}}}, opid="blueprint", tags=["catalog"])}

json.dump(doc, open(os.path.join(repo, "Sources/ImagingXService/Resources/openapi.json"), "w"), indent=1, sort_keys=False)
print("ok")
