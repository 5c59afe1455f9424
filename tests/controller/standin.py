"""A recorded-request stand-in for AWX's and Semaphore's REST APIs (no real server can run here).

It keeps what is created in memory and answers the calls awx.awx's modules and the scheduler role's
ansible.builtin.uri tasks make: list lookups filtered by the query, creates, updates, associations,
survey specs and workflow nodes. Every request is recorded (method, path, query, JSON body, whether it
carried the expected token) for the tests to read. It checks nothing else of AWX's or Semaphore's rules:
the request bodies are checked against awxkit's models in the tests.
"""
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SINGULAR = {"organizations": "organization", "projects": "project", "inventories": "inventory",
            "inventory_sources": "inventory_source", "credential_types": "credential_type",
            "credentials": "credential", "job_templates": "job_template", "schedules": "schedule",
            "workflow_job_templates": "workflow_job_template",
            "workflow_job_template_nodes": "workflow_job_template_node", "execution_environments": "execution_environment"}
FOREIGN = {"organization": "organizations", "project": "projects", "inventory": "inventories",
           "credential_type": "credential_types", "source_project": "projects",
           "workflow_job_template": "workflow_job_templates", "execution_environment": "execution_environments"}
UNIFIED = ("job_templates", "workflow_job_templates", "projects", "inventory_sources")
NODE_LINKS = ("success_nodes", "failure_nodes", "always_nodes")


class StandIn:
    def __init__(self, token):
        self.token = token
        self.requests = []
        self.lock = threading.Lock()
        self.store = {name: [] for name in SINGULAR}
        self.surveys = {}
        self.links = {}
        self.sem_projects = []
        self.sem = {}
        self.next_id = 1

    # -- AWX ----------------------------------------------------------------------------------
    def _new_id(self):
        self.next_id += 1
        return self.next_id

    def awx_create(self, collection, body):
        obj = dict(body)
        if collection == "job_templates" and "organization" not in obj and obj.get("project"):
            obj["organization"] = self.awx_get("projects", obj["project"])["organization"]  # AWX takes the project's
        obj["id"] = self._new_id()
        obj["type"] = SINGULAR[collection]
        obj["url"] = "/api/v2/%s/%d/" % (collection, obj["id"])
        obj.setdefault("name", "")
        obj["related"] = {sub: obj["url"] + sub + "/" for sub in (
            "update", "survey_spec", "credentials", "workflow_nodes", "schedules") + NODE_LINKS}
        obj["summary_fields"] = {}
        obj.setdefault("scm_revision", "")
        for field, target in FOREIGN.items():
            if isinstance(obj.get(field), int):
                ref = self.awx_get(target, obj[field])
                obj["summary_fields"][field] = {"id": ref["id"], "name": ref.get("name")} if ref else {}
        if collection == "schedules" and obj.get("unified_job_template"):
            ujt = self.unified(obj["unified_job_template"])
            obj["summary_fields"]["unified_job_template"] = {"id": ujt["id"], "name": ujt["name"]}
        self.store[collection].append(obj)
        return obj

    def awx_get(self, collection, ident):
        return next((obj for obj in self.store.get(collection, []) if obj["id"] == int(ident)), None)

    def unified(self, ident):
        for collection in UNIFIED:
            found = self.awx_get(collection, ident)
            if found:
                return found
        return None

    @staticmethod
    def _matches(obj, query):
        ors = {key[4:]: value for key, value in query.items() if key.startswith("or__")}
        for key, value in query.items():
            if key.startswith("or__") or key in ("page_size", "page", "order_by"):
                continue
            if "__" in key:
                field, attr = key.split("__", 1)
                have = obj.get("summary_fields", {}).get(field, {}).get(attr)
            else:
                have = obj.get(key)
            if str(have) != value and not (isinstance(have, bool) and str(have).lower() == value.lower()):
                return False
        if ors and not any(str(obj.get(key)) == value for key, value in ors.items()):
            return False
        return True

    def awx_list(self, collection, query):
        if collection == "unified_job_templates":
            objects = [obj for name in UNIFIED for obj in self.store[name]]
        else:
            objects = self.store.get(collection, [])
        found = [obj for obj in objects if self._matches(obj, query)]
        return {"count": len(found), "next": None, "previous": None, "results": found}

    def awx(self, method, parts, query, body):
        collection = parts[0]
        if collection in ("ping", "config", "me"):
            return 200, {"version": "24.6.1", "results": []}
        if len(parts) == 1:
            if method == "GET":
                return 200, self.awx_list(collection, query)
            if method == "POST" and collection in SINGULAR:
                return 201, self.awx_create(collection, body)
        ident = int(parts[1])
        obj = self.awx_get(collection, ident) if collection != "unified_job_templates" else self.unified(ident)
        if obj is None:
            return 404, {"detail": "Not found."}
        if len(parts) == 2:
            if method == "GET":
                return 200, obj
            if method == "PATCH":
                obj.update(body)
                return 200, obj
            if method == "DELETE":
                self.store[collection].remove(obj)
                return 204, None
        sub = parts[2]
        key = (collection, ident, sub)
        if sub == "survey_spec":
            if method == "GET":
                return 200, self.surveys.get(key, {})
            self.surveys[key] = body
            return 200, {}
        if sub == "workflow_nodes":
            if method == "POST":
                return 201, self.awx_create("workflow_job_template_nodes", dict(body, workflow_job_template=ident))
            return 200, self.awx_list("workflow_job_template_nodes", {"workflow_job_template": str(ident)})
        if sub == "schedules":
            if method == "POST":
                return 201, self.awx_create("schedules", dict(body, unified_job_template=ident))
            return 200, self.awx_list("schedules", {"unified_job_template": str(ident)})
        target = "workflow_job_template_nodes" if sub in NODE_LINKS else sub
        if method == "POST":
            linked = self.links.setdefault(key, [])
            if body.get("disassociate"):
                linked.remove(body["id"])
            elif body["id"] not in linked:
                linked.append(body["id"])
            return 204, None
        found = [self.awx_get(target, item) for item in self.links.get(key, [])]
        return 200, {"count": len(found), "next": None, "previous": None, "results": [f for f in found if f]}

    # -- Semaphore ------------------------------------------------------------------------------
    def sem_add_project(self, name, keys=()):
        project = {"id": self._new_id(), "name": name}
        self.sem_projects.append(project)
        for key in keys:
            self.sem.setdefault((project["id"], "keys"), []).append(
                {"id": self._new_id(), "name": key, "type": "ssh", "project_id": project["id"]})
        return project

    def semaphore(self, method, parts, body):
        if parts == ["projects"]:
            if method == "GET":
                return 200, self.sem_projects
            project = dict(body, id=self._new_id())
            self.sem_projects.append(project)
            return 201, project
        if len(parts) == 3 and parts[0] == "project":
            items = self.sem.setdefault((int(parts[1]), parts[2]), [])
            if method == "GET":
                return 200, items
            if method == "POST":
                item = dict(body, id=self._new_id())
                items.append(item)
                return 201, item
        return 404, {"error": "not found"}


def serve(token):
    state = StandIn(token)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            authorized = self.headers.get("Authorization") == "Bearer " + state.token
            with state.lock:
                state.requests.append({"method": self.command, "path": url.path, "query": query, "body": body,
                                       "authorized": authorized})
                parts = [part for part in url.path.split("/") if part]
                if not authorized:
                    status, answer = 401, {"detail": "Authentication credentials were not provided."}
                elif parts[:2] == ["api", "v2"]:
                    status, answer = state.awx(self.command, parts[2:], query, body)
                elif parts[:1] == ["api"]:
                    status, answer = state.semaphore(self.command, parts[1:], body)
                else:
                    status, answer = 404, {}
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-API-Product-Name", "AWX")
            self.send_header("X-API-Product-Version", "24.6.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for the serving loop's next poll (0.5 s by default) at each test's end.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, state
