"""`diffuserve keys create|list|revoke` and `diffuserve projects create|list`: the operator's view of who may use
the service. Keys belong to one project with a role; a revoked key stops working on its next request."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _keys(args: argparse.Namespace) -> Iterator[Any]:
    from diffuserve.app import open_database
    from diffuserve.config import Settings
    from diffuserve.service.keys import KeyService
    from diffuserve.storage.key_repository import KeyRepository

    db = open_database(Settings.from_cli(args))
    try:
        yield KeyService(KeyRepository(db))
    finally:
        db.close()


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data) if args.json else text)


def cmd_keys_create(args: argparse.Namespace) -> int:
    with _keys(args) as keys:
        key = keys.create(project=args.project, role=args.role, name=args.name)
        project = keys.project(key.project_id)
    data = {"key": key.key, "secret": key.secret, "projectId": project.id, "project": project.name, "role": key.role}
    _print(
        args,
        data,
        f"key:     {key.key}\nsecret:  {key.secret}\nproject: {project.name} ({project.id})\nrole:    "
        f"{key.role.value}\n(the secret is shown once; only its hash is stored)",
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from diffuserve.service.keys import key_wire

    with _keys(args) as keys:
        project_id = keys.project(args.project).id if args.project else None
        names = {p.id: p.name for p in keys.projects()}
        listed = [key_wire(k, names.get(k.project_id)) for k in keys.list(project_id=project_id)]
    rows = [
        f"{k['id']}  {k['project']:<16} {k['role']:<9} {'revoked' if k['revoked'] else 'active ':<7}  "
        f"{k['createdAt']}  {k.get('name', '')}"
        for k in listed
    ]
    _print(args, listed, "\n".join(rows) if rows else "no keys (diffuserve keys create)")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    with _keys(args) as keys:
        record = keys.revoke(args.key_id)
    _print(args, {"id": record.key_id, "revoked": True}, f"revoked {record.key_id}; it is refused from now on")
    return 0


def cmd_projects_create(args: argparse.Namespace) -> int:
    with _keys(args) as keys:
        project = keys.create_project(args.name)
    _print(args, {"id": project.id, "name": project.name}, f"project {project.name} ({project.id}) created")
    return 0


def cmd_projects_list(args: argparse.Namespace) -> int:
    with _keys(args) as keys:
        projects = keys.projects()
    data = [{"id": p.id, "name": p.name} for p in projects]
    _print(args, data, "\n".join(f"{p.id}  {p.name}" for p in projects))
    return 0


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str, func: Callable[..., int]
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder (default ./data)")
    p.set_defaults(func=func)
    return p


def add_key_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `keys` and `projects` to the main parser's subcommands."""
    k = sub.add_parser("keys", help="manage API keys (create, list, revoke)")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    c = _command(ksub, "create", "create an API key and print it with its secret (shown once)", cmd_keys_create)
    c.add_argument("--project", default=None, help="project name or id (default: the default project)")
    c.add_argument(
        "--role",
        default="admin",
        choices=["admin", "member", "read-only"],
        help="admin manages the project's keys; member generates; read-only reads (default: admin)",
    )
    c.add_argument("--name", default=None, help="a label to recognise the key by in `keys list`")
    ls = _command(ksub, "list", "list keys (never their secrets)", cmd_keys_list)
    ls.add_argument("--project", default=None, help="only this project's keys")
    r = _command(ksub, "revoke", "revoke a key: refused from its next request on, in every process", cmd_keys_revoke)
    r.add_argument("key_id", help="the key id (api_...)")

    p = sub.add_parser("projects", help="manage projects (each key sees only its project's jobs and assets)")
    psub = p.add_subparsers(dest="projects_command", required=True)
    pc = _command(psub, "create", "create a project", cmd_projects_create)
    pc.add_argument("name", help="1-64 letters, digits, '.', '_' or '-'")
    _command(psub, "list", "list projects", cmd_projects_list)
