"""The status page's style sheet, inline in every page (the page loads nothing else)."""

from __future__ import annotations

__all__ = ["STYLE"]

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem 1rem;color:#1d2330;
background:#f6f7f9}
header{display:flex;align-items:baseline;gap:.8rem;flex-wrap:wrap}
h1{font-size:1.3rem;margin:.8rem 0}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}h3{font-size:.95rem;margin:0 0 .4rem}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6eb;vertical-align:top}
th{font-weight:600;font-size:.8rem;color:#5a6372;background:#eef0f3}
code{font-size:.85rem}.muted{color:#6b7380}.error{color:#b00020;font-weight:600}
.count{font-weight:400;color:#6b7380}.summary{color:#4a5260;font-size:.85rem}
.status,.sev,.state{display:inline-block;padding:.05rem .45rem;border-radius:.7rem;font-size:.8rem;font-weight:600}
.status.ok,.state.up,.state.notifying{background:#d8f3dc;color:#1b5e20}
.status.degraded{background:#fff3cd;color:#7a5a00}.status.failing,.state.down{background:#fde0e0;color:#a00000}
.sev.critical{background:#c62828;color:#fff}.sev.high{background:#ef6c00;color:#fff}
.sev.medium{background:#f9c74f;color:#3d2f00}.sev.low{background:#4f8fd9;color:#fff}.sev.-{background:#ccd}
.state.silenced{background:#e3e0f7;color:#3b2c8f}.state.inhibited{background:#e8e8e8;color:#444}
.label{display:inline-block;margin:0 .25rem .15rem 0;padding:0 .35rem;border-radius:.3rem;background:#eef0f3;
font:.8rem ui-monospace,monospace}
tr.expired{color:#8a919c}
form#new-silence{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-top:.6rem;padding:.6rem;background:#fff;
box-shadow:0 1px 2px #0002}
form#new-silence h3{width:100%}label{display:flex;flex-direction:column;font-size:.8rem;color:#5a6372}
input{font:inherit;padding:.2rem .3rem}form.inline{display:flex;gap:.3rem}
button{font:inherit;padding:.2rem .7rem;cursor:pointer}
footer{margin-top:1.5rem;color:#6b7380;font-size:.85rem}ul.reasons,ul.problems{margin:.2rem 0}
"""
