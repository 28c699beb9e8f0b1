#!/usr/bin/env python3
"""Draws a Block Kit message (the JSON `driftguard findings show ID --slack` prints) as an HTML
page close to what Slack shows, and with --png, a screenshot of it in headless Chromium.

    driftguard findings show dg-... --slack > alert.json
    scripts/slack-preview.py alert.json --html alert.html --png docs/slack-alert.png

Covers the blocks DriftGuard sends: header, section (text, fields), context, actions (buttons,
with their confirm dialogs noted), divider. mrkdwn: *bold*, _italic_, `code`, <url|label>, and the
few emoji DriftGuard uses. It is a preview for docs and reviews, not Slack's renderer.
"""
import argparse
import html
import json
import os
import re
import subprocess
import sys
import tempfile

# Drawn as coloured marks: a headless browser often has no emoji font.
EMOJI = {
    ":rotating_light:": '<span style="color:#e01e5a">&#9679;</span>',
    ":red_circle:": '<span style="color:#e01e5a">&#9679;</span>',
    ":large_orange_circle:": '<span style="color:#e8912d">&#9679;</span>',
    ":large_yellow_circle:": '<span style="color:#ecb22e">&#9679;</span>',
    ":warning:": '<span style="color:#e8912d">&#9650;</span>',
    ":information_source:": '<span style="color:#1264a3">&#9432;</span>',
    ":white_check_mark:": '<span style="color:#2eb67d">&#10004;</span>',
    ":x:": '<span style="color:#e01e5a">&#10006;</span>',
    ":hourglass_flowing_sand:": "&#8987;",
    ":lock:": "&#128274;",
    ":raised_hand:": "&#9995;",
}


def mrkdwn(text):
    """Slack mrkdwn to HTML (escaped first; links, code, bold, italic, emoji, line breaks)."""
    out = html.escape(text, quote=False)
    out = re.sub(r"&lt;(https?://[^|&]+)\|([^&]+)&gt;", r'<a href="\1">\2</a>', out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", out)
    for name, char in EMOJI.items():
        out = out.replace(name, char)
    return out.replace("\n", "<br>")


def text_of(obj):
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(obj.get("text", ""))
    return html.escape(obj.get("text", ""))


def block_html(block):
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{text_of(block.get("text"))}</div>'
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        parts = [text_of(e) for e in block.get("elements", [])]
        return '<div class="context">' + " &nbsp;·&nbsp; ".join(parts) + "</div>"
    if kind == "actions":
        buttons = []
        for e in block.get("elements", []):
            style = e.get("style", "")
            confirm = " ⋯" if e.get("confirm") else ""
            buttons.append(f'<span class="button {style}">{text_of(e.get("text"))}{confirm}</span>')
        return '<div class="actions">' + "".join(buttons) + "</div>"
    if kind == "section":
        inner = ""
        if block.get("text"):
            inner += f'<div class="text">{text_of(block["text"])}</div>'
        if block.get("fields"):
            inner += '<div class="fields">' + "".join(
                f'<div class="field">{text_of(f)}</div>' for f in block["fields"]
            ) + "</div>"
        return f'<div class="section">{inner}</div>'
    return f'<div class="unknown">[{html.escape(str(kind))} block]</div>'


STYLE = """
body { font: 15px/1.46 -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; color: #1d1c1d;
       background: #fff; margin: 0; padding: 24px 32px; width: 760px; }
.message { display: grid; grid-template-columns: 44px 1fr; gap: 8px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #2d6a4f; color: #fff;
          font-weight: 700; display: flex; align-items: center; justify-content: center; }
.name { font-weight: 900; } .app { font-size: 11px; background: #e8e8e8; border-radius: 3px;
        padding: 0 4px; margin-left: 4px; color: #616061; } .time { color: #616061; font-size: 12px; margin-left: 6px; }
.header { font-size: 18px; font-weight: 900; margin: 6px 0 8px; }
.section { margin: 6px 0; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
code { font: 12px Menlo, 'DejaVu Sans Mono', monospace; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e1e1e1; border-radius: 3px; padding: 0 3px; }
.context { color: #616061; font-size: 13px; margin: 8px 0; }
a { color: #1264a3; text-decoration: none; }
.actions { margin: 10px 0 4px; display: flex; gap: 8px; flex-wrap: wrap; }
.button { border: 1px solid #bbbabb; border-radius: 4px; padding: 4px 12px; font-weight: 700; font-size: 14px; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.button.danger { color: #e01e5a; border-color: #e01e5a; }
hr { border: 0; border-top: 1px solid #ddd; }
"""


def page(message):
    blocks = "".join(block_html(b) for b in message.get("blocks", []))
    return (
        "<!doctype html><meta charset=utf-8><style>" + STYLE + "</style>"
        '<div class="message"><div class="avatar">DG</div><div>'
        '<div><span class="name">DriftGuard</span><span class="app">APP</span>'
        '<span class="time">9:02 AM</span></div>' + blocks + "</div></div>"
    )


def screenshot(page_path, png, height):
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
                f"--window-size=840,{height}", f"--screenshot={os.path.abspath(png)}",
                "file://" + os.path.abspath(page_path),
            ],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message", help="Block Kit JSON (a file, or - for stdin)")
    parser.add_argument("--html", help="write the page here (default: a temporary file)")
    parser.add_argument("--png", help="also screenshot the page here (headless Chromium)")
    parser.add_argument("--height", type=int, default=720, help="screenshot height in pixels")
    args = parser.parse_args()
    raw = sys.stdin.read() if args.message == "-" else open(args.message, encoding="utf-8").read()
    try:
        message = json.loads(raw)
    except json.JSONDecodeError as e:
        sys.exit(f"slack-preview: {args.message}: not JSON ({e})")
    if not isinstance(message, dict) or not isinstance(message.get("blocks"), list):
        sys.exit(f"slack-preview: {args.message}: no \"blocks\" list (expected `findings show --slack` output)")
    html_path = args.html or tempfile.mkstemp(suffix=".html")[1]
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(page(message))
    if args.png:
        screenshot(html_path, args.png, args.height)
        print(f"slack-preview: {args.png}")
    else:
        print(f"slack-preview: {html_path}")


if __name__ == "__main__":
    main()
