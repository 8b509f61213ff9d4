"""OPT105 reports file work that grows with the data (link.Via.scaled, subjects' call.scaled),
across files: a helper in another module that reads per item, or calls a helper per item,
or calls one that walks a tree, is reported at its async caller; one that reads one small
file is not, however deep; and the chain shown ends in the walk, not in a stat beside it."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "app/__init__.py": "",
    "app/store.py": '''import json
import os


def read_one(path):
    with open(path) as f:
        return json.load(f)


def read_all(folder):
    return [read_one(os.path.join(folder, name)) for name in os.listdir(folder)]


def settings(path):
    return read_one(path)


def usage(root, extra):
    total = sum(os.path.getsize(path) for path in extra)
    for _, _, names in os.walk(root):
        total += len(names)
    return total


def report(root):
    return {"files": usage(root, [])}
''',
    "app/service.py": '''from app.store import read_all, report, settings


async def history(folder):
    return read_all(folder)


async def config(path):
    return settings(path)


async def stats(root):
    return report(root)
''',
}


def test_scaled_file_work_is_reported_through_helpers_in_other_files(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT105",)))
    found = {(r.path, r.symbol): r for r in report.recommendations}
    # read_all calls read_one per item; report -> usage walks a tree; settings reads one file.
    assert set(found) == {("app/service.py", "history"), ("app/service.py", "stats")}
    walk = [hop["name"] for hop in found[("app/service.py", "stats")].evidence["via"]]
    assert walk == ["report", "usage", "os.walk"]  # not the stats made before it
    assert "grows with the data" in found[("app/service.py", "history")].message


def test_a_helper_reaching_both_a_file_and_a_request_is_reported_for_the_request(tmp_path):
    # Held-out S45: ChatGPT-Telegram-Bot's `update_info_message` reads the user's config
    # file and checks GitHub for a new version with `requests.get` (no timeout) on every
    # /info; the chain shown was the config read (OPT105, low), not the request that can
    # hang the bot (OPT104).
    files = {
        "app/__init__.py": "",
        "app/config.py": '''import json
import requests


class Users:
    def get_config(self, user_id, key):
        with open(f"/data/{user_id}.json") as f:
            return json.load(f)[key]


users = Users()


def check_for_updates():
    return requests.get("https://example.com/version", timeout=10).text


def update_info_message(user_id):
    key = users.get_config(user_id, "api_key")
    return f"{key} {check_for_updates()}"
''',
        "app/bot.py": '''from app.config import update_info_message


async def info(update, context):
    await context.bot.send_message(text=update_info_message(update.chat_id))
''',
    }
    root = write(tmp_path, files)
    found = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1)).recommendations
    assert [(r.rule, r.path, r.line) for r in found] == [("OPT104", "app/bot.py", 5)]
    assert "check_for_updates → requests.get" in found[0].message
