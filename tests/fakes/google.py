"""A fake Google Workspace: OAuth token endpoint (JWT bearer grant, signature checked), Admin
SDK Reports API activities.list (newest first, nextPageToken) and Directory API, and Drive API
v3 files (files.list with `q` on modifiedTime, files.get?alt=media, files.export)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import random
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .server import FakeServer, Request, Response

REPORTS = "/admin/reports/v1/activity/users/all/applications"
DIRECTORY = "/admin/directory/v1"


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # one per test run


class FakeGoogle(FakeServer):
    def __init__(self, *args, **kwargs):
        self.key = _KEY
        self.client_email = "casb-reader@acme-project.iam.gserviceaccount.com"
        self.admin_email = "admin@acme.test"
        self.tokens: set[str] = set()
        self.assertions: list[dict] = []
        self._counter = itertools.count(1)
        self.activities: dict[str, list[dict]] = {}
        self.users: list[dict] = []
        self.groups: list[dict] = []
        self.members: dict[str, list[str]] = {}
        self.reject_credentials = False
        # Governance state: OAuth tokens users gave apps, Drive files and their permissions,
        # and every change made (in order).
        self.user_tokens: list[dict] = []  # {"userId", "clientId"}
        self.files: dict[str, dict] = {}  # file id -> {"owner", "permissions"}
        self.changes: list[tuple[str, str]] = []
        self.downloads: list[str] = []  # Drive file ids downloaded or exported, in order
        super().__init__(*args, **kwargs)

    def credentials(self) -> dict:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        key_file = {
            "type": "service_account",
            "project_id": "acme-project",
            "private_key_id": "0123abcd",
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "1049",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        return {"admin_email": self.admin_email, "service_account_key": json.dumps(key_file)}

    def routes(self):
        return [
            ("POST", r"/token", self.token),
            ("GET", rf"{REPORTS}/(?P<app>[a-z_]+)", self.activities_list),
            ("GET", rf"{DIRECTORY}/users", self.users_list),
            ("GET", rf"{DIRECTORY}/groups", self.groups_list),
            ("GET", rf"{DIRECTORY}/groups/(?P<group_id>[^/]+)/members", self.members_list),
            # Governance
            ("GET", rf"{DIRECTORY}/users/(?P<key>[^/]+)", self.get_user),
            ("PUT", rf"{DIRECTORY}/users/(?P<key>[^/]+)", self.update_user),
            ("POST", rf"{DIRECTORY}/users/(?P<key>[^/]+)/signOut", self.sign_out),
            (
                "DELETE",
                rf"{DIRECTORY}/users/(?P<key>[^/]+)/tokens/(?P<client>[^/]+)",
                self.delete_token,
            ),
            ("GET", r"/drive/v3/files/(?P<file_id>[^/]+)/permissions", self.list_permissions),
            (
                "DELETE",
                r"/drive/v3/files/(?P<file_id>[^/]+)/permissions/(?P<pid>[^/]+)",
                self.delete_permission,
            ),
            # Drive files (content inspection)
            ("GET", r"/drive/v3/files", self.drive_files_list),
            ("GET", r"/drive/v3/files/(?P<file_id>[^/]+)", self.drive_file_get),
            ("GET", r"/drive/v3/files/(?P<file_id>[^/]+)/export", self.drive_file_export),
        ]

    # --- Data ----------------------------------------------------------------------------

    def add_activity(
        self,
        app: str,
        when: dt.datetime,
        name: str = "login_success",
        *,
        actor: str = "ann@acme.test",
        profile_id: str = "1001",
        ip: str = "81.2.69.142",
        parameters: list | None = None,
    ) -> dict:
        item = {
            "kind": "admin#reports#activity",
            "id": {
                "time": rfc3339(when),
                "uniqueQualifier": str(random.randint(-(2**62), 2**62)),
                "applicationName": app,
                "customerId": "C03az79cb",
            },
            "etag": '"abc"',
            "actor": {"callerType": "USER", "email": actor, "profileId": profile_id},
            "ownerDomain": "acme.test",
            "ipAddress": ip,
            "events": [
                {
                    "type": "login" if app == "login" else "access",
                    "name": name,
                    "parameters": parameters
                    if parameters is not None
                    else [{"name": "login_type", "value": "google_password"}],
                }
            ],
        }
        self.activities.setdefault(app, []).append(item)
        return item

    def add_user(
        self,
        user_id: str,
        email: str,
        *,
        name="Ann Lee",
        department="",
        suspended=False,
        admin=False,
        groups=(),
    ) -> dict:
        user = {
            "kind": "admin#directory#user",
            "id": user_id,
            "primaryEmail": email,
            "name": {
                "givenName": name.split()[0],
                "familyName": name.split()[-1],
                "fullName": name,
            },
            "isAdmin": admin,
            "suspended": suspended,
            "archived": False,
            "organizations": [{"department": department, "primary": True}] if department else [],
        }
        self.users.append(user)
        for group in groups:
            self.members.setdefault(group, []).append(user_id)
        return user

    def add_group(self, group_id: str, name: str, description: str = "") -> None:
        self.groups.append(
            {
                "kind": "admin#directory#group",
                "id": group_id,
                "email": f"{name.lower()}@acme.test",
                "name": name,
                "description": description,
            }
        )

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # --- Handlers ------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = request.form
        refusal = Response(
            400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        )
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Response(400, {"error": "unsupported_grant_type"})
        try:
            header, claims, signature = form["assertion"].split(".")
            self.key.public_key().verify(
                _unb64(signature),
                f"{header}.{claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            payload = json.loads(_unb64(claims))
        except (KeyError, ValueError, InvalidSignature):
            return refusal
        self.assertions.append(payload)
        if self.reject_credentials or payload.get("iss") != self.client_email:
            return Response(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes "
                    "requested.",
                },
            )
        token = f"ya29.fake-{next(self._counter)}"
        self.tokens.add(token)
        return Response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _auth(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return Response(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "errors": [
                            {
                                "message": "Invalid Credentials",
                                "domain": "global",
                                "reason": "authError",
                            }
                        ],
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        return None

    def activities_list(self, request: Request, app: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        if self.audit_disabled:
            message = (
                "Admin SDK API has not been used in project 1049 before or it is "
                "disabled. Enable it by visiting the Cloud console, then retry."
            )
            return Response(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": message,
                        "errors": [
                            {
                                "message": message,
                                "domain": "usageLimits",
                                "reason": "accessNotConfigured",
                            }
                        ],
                        "status": "PERMISSION_DENIED",
                    }
                },
            )
        start, end = parse(request.query["startTime"]), parse(request.query["endTime"])
        items = sorted(
            (a for a in self.activities.get(app, []) if start <= parse(a["id"]["time"]) <= end),
            key=lambda a: (a["id"]["time"], a["id"]["uniqueQualifier"]),
            reverse=True,  # newest first, as the Reports API answers
        )
        offset = int(request.query.get("pageToken") or 0)
        chunk, following = self.page(items, offset)
        body: dict = {"kind": "admin#reports#activities", "etag": '"e"'}
        if chunk:
            body["items"] = chunk
        if following is not None:
            body["nextPageToken"] = str(following)
        return Response(200, body)

    def _listing(self, request: Request, key: str, items: list) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        offset = int(request.query.get("pageToken") or 0)
        chunk, following = self.page(items, offset)
        body: dict = {"kind": f"admin#directory#{key}", key: chunk}
        if following is not None:
            body["nextPageToken"] = str(following)
        return Response(200, body)

    def users_list(self, request: Request) -> Response:
        return self._listing(request, "users", self.users)

    def groups_list(self, request: Request) -> Response:
        return self._listing(request, "groups", self.groups)

    def members_list(self, request: Request, group_id: str) -> Response:
        members = [
            {
                "kind": "admin#directory#member",
                "id": uid,
                "role": "MEMBER",
                "type": "USER",
                "status": "ACTIVE",
            }
            for uid in self.members.get(group_id, [])
        ]
        return self._listing(request, "members", members)

    # --- Governance ------------------------------------------------------------------------

    def add_file(self, file_id: str, owner: str, permissions: list[dict]) -> dict:
        owner_permission = {
            "id": "perm-owner",
            "type": "user",
            "role": "owner",
            "emailAddress": owner,
        }
        self.files[file_id] = {"owner": owner, "permissions": [owner_permission, *permissions]}
        return self.files[file_id]

    @staticmethod
    def permission(kind: str, value: str = "", role: str = "reader", inherited=False) -> dict:
        """kind: user, group, domain or anyone; value: the address or the domain."""
        # Ids as Google's: no characters that need quoting in a URL path.
        slug = (value or "x").replace("@", "-at-")
        permission = {"id": f"perm-{kind}-{slug}", "type": kind, "role": role}
        if kind in ("user", "group"):
            permission["emailAddress"] = value
        elif kind == "domain":
            permission["domain"] = value
        if inherited:
            permission["permissionDetails"] = [
                {"permissionType": "file", "role": role, "inherited": True}
            ]
        return permission

    @staticmethod
    def _not_found(what: str) -> Response:
        message = f"Resource Not Found: {what}"
        return Response(
            404,
            {
                "error": {
                    "code": 404,
                    "message": message,
                    "errors": [{"message": message, "domain": "global", "reason": "notFound"}],
                }
            },
        )

    def _user(self, key: str) -> dict | None:
        return next((u for u in self.users if key in (u["id"], u["primaryEmail"])), None)

    def get_user(self, request: Request, key: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._user(key)
        return Response(200, user) if user else self._not_found("userKey")

    def update_user(self, request: Request, key: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._user(key)
        if user is None:
            return self._not_found("userKey")
        changes = json.loads(request.body or b"{}")
        if "suspended" in changes and bool(changes["suspended"]) != user["suspended"]:
            user["suspended"] = bool(changes["suspended"])
            self.changes.append(("suspended" if user["suspended"] else "unsuspended", user["id"]))
        return Response(200, user)

    def sign_out(self, request: Request, key: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._user(key)
        if user is None:
            return self._not_found("userKey")
        self.changes.append(("signed out", user["id"]))
        return Response(204, b"")

    def delete_token(self, request: Request, key: str, client: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        user = self._user(key)
        if user is None:
            return self._not_found("userKey")
        held = [t for t in self.user_tokens if (t["userId"], t["clientId"]) == (user["id"], client)]
        if not held:
            return self._not_found("clientId")
        for token in held:
            self.user_tokens.remove(token)
        self.changes.append(("token revoked", f"{user['id']}:{client}"))
        return Response(204, b"")

    def _file(self, file_id: str) -> dict | None:
        return self.files.get(file_id)

    def _missing_file(self, file_id: str) -> Response:
        message = f"File not found: {file_id}."
        return Response(
            404,
            {
                "error": {
                    "code": 404,
                    "message": message,
                    "errors": [
                        {
                            "message": message,
                            "domain": "global",
                            "reason": "notFound",
                            "location": "fileId",
                            "locationType": "parameter",
                        }
                    ],
                }
            },
        )

    def list_permissions(self, request: Request, file_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        found = self._file(file_id)
        if found is None:
            return self._missing_file(file_id)
        offset = int(request.query.get("pageToken") or 0)
        chunk, following = self.page(found["permissions"], offset)
        body: dict = {"kind": "drive#permissionList", "permissions": chunk}
        if following is not None:
            body["nextPageToken"] = str(following)
        return Response(200, body)

    def delete_permission(self, request: Request, file_id: str, pid: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        found = self._file(file_id)
        if found is None:
            return self._missing_file(file_id)
        permission = next((p for p in found["permissions"] if p["id"] == pid), None)
        if permission is None:
            return self._not_found("permissionId")
        if permission["role"] == "owner":
            return Response(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "The owner of a file cannot be removed.",
                        "errors": [{"reason": "cannotRemoveOwner"}],
                    }
                },
            )
        found["permissions"].remove(permission)
        self.changes.append(("unshared", f"{file_id}:{pid}"))
        return Response(204, b"")

    # --- Drive files (content inspection) ----------------------------------------------------

    def add_drive_file(
        self,
        file_id: str,
        name: str,
        content: bytes,
        *,
        owner: str = "ann@acme.test",
        permissions: list[dict] | None = None,
        mime: str = "text/plain",
        modified: dt.datetime | None = None,
        size: int | None = None,
    ) -> dict:
        """A Drive file with content; Google-native types (mime application/vnd.google-apps.*)
        have no size and answer only files.export (with `content` as the exported text)."""
        entry = self.add_file(file_id, owner, list(permissions or []))
        native = mime.startswith("application/vnd.google-apps.")
        entry.update(
            {
                "name": name,
                "content": content,
                "mimeType": mime,
                "modifiedTime": rfc3339(modified or dt.datetime.now(dt.UTC)),
                "size": None if native else (size if size is not None else len(content)),
                "trashed": False,
            }
        )
        return entry

    def touch_drive_file(self, file_id: str, content: bytes | None = None) -> None:
        entry = self.files[file_id]
        if content is not None:
            entry["content"] = content
            entry["size"] = len(content)
        entry["modifiedTime"] = rfc3339(dt.datetime.now(dt.UTC))

    def _drive_item(self, file_id: str, entry: dict) -> dict:
        item = {
            "kind": "drive#file",
            "id": file_id,
            "name": entry["name"],
            "mimeType": entry["mimeType"],
            "modifiedTime": entry["modifiedTime"],
            "owners": [{"emailAddress": entry["owner"], "permissionId": "perm-owner"}],
            "permissions": entry["permissions"],
            "webViewLink": f"https://docs.google.com/file/d/{file_id}/view",
            "parents": ["0AroOt"],
            "trashed": entry.get("trashed", False),
        }
        if entry.get("size") is not None:
            item["size"] = str(entry["size"])  # Drive sends sizes as strings
            item["md5Checksum"] = hashlib.md5(entry["content"]).hexdigest()  # noqa: S324
        return item

    def drive_files_list(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        query = request.query.get("q", "")
        after = re.search(r"modifiedTime > '([^']+)'", query)
        listed = []
        for file_id, entry in sorted(self.files.items()):
            if "content" not in entry:
                continue  # a governance-only file
            if "trashed = false" in query and entry.get("trashed"):
                continue
            if after and parse(entry["modifiedTime"]) <= parse(after.group(1)):
                continue
            listed.append(self._drive_item(file_id, entry))
        offset = int(request.query.get("pageToken") or 0)
        chunk, following = self.page(listed, offset)
        body: dict = {"kind": "drive#fileList", "files": chunk}
        if following is not None:
            body["nextPageToken"] = str(following)
        return Response(200, body)

    def drive_file_get(self, request: Request, file_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        entry = self._file(file_id)
        if entry is None or "content" not in entry:
            return self._missing_file(file_id)
        if request.query.get("alt") != "media":
            return Response(200, self._drive_item(file_id, entry))
        if entry["mimeType"].startswith("application/vnd.google-apps."):
            message = "Only files with binary content can be downloaded. Use Export with Docs."
            return Response(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": message,
                        "errors": [{"reason": "fileNotDownloadable"}],
                    }
                },
            )
        self.downloads.append(file_id)
        return Response(200, entry["content"], {"Content-Type": "application/octet-stream"})

    def drive_file_export(self, request: Request, file_id: str) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        entry = self._file(file_id)
        if entry is None or "content" not in entry:
            return self._missing_file(file_id)
        self.downloads.append(file_id)
        mime = request.query.get("mimeType", "text/plain")
        return Response(200, entry["content"], {"Content-Type": mime})
