"""Every console page's bar, banner and sign-in form come from one file (web/templates/console-shell.html):
each page is served with it written out, the same ids on every page, an ETag, and 304 when the
browser already has it."""

from __future__ import annotations

import re

import pytest

from queue_server.web import manage

SHARED_IDS = ("scope-title", "console-nav", "who", "logout", "banner", "login-screen", "login-form",
              "staff-id", "password", "login-error", "login-button")


async def test_every_console_page_is_served_with_the_shared_shell_and_revalidates_by_etag(hall):
    for path, name in manage.CONSOLE_PAGES.items():
        resp = await hall.client.get(path)
        body = await resp.text()
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/html; charset=utf-8", path
        assert "<!--#" not in body, f"{name}: a shell marker was sent as it is"
        for element in SHARED_IDS:
            assert len(re.findall(rf'id="{element}"', body)) == 1, (name, element)
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        app_name = re.search(r'<span class="app-name">([^<]+)</span>', body)
        title = re.search(r"<title>([^<]+)</title>", body)
        assert app_name and title and title.group(1).startswith(app_name.group(1)), name
        again = await hall.client.get(path, headers={"If-None-Match": resp.headers["ETag"]})
        assert again.status == 304 and await again.read() == b""
    monitor = await (await hall.client.get("/manage/monitor")).text()
    bar = monitor[monitor.index('<div class="bar-right">'):monitor.index("</header>")]
    assert bar.index('id="sound"') < bar.index('id="live"') < bar.index('id="who"'), "the page's own bar buttons"
    index = await (await hall.client.get("/manage")).text()
    assert '<p class="hint">窗口工作人员登录后进入“我的绩效”。</p>' in index


@pytest.mark.parametrize("marker", [
    '  <!--#shell app="投诉管理"-->\n  <!--#/shell-->\n',  # no login title
    '  <!--#shell app="投诉管理" login="登录" colour="red"-->\n  <!--#/shell-->\n',  # unknown attribute
])
def test_a_malformed_shell_block_is_refused_when_the_page_is_rendered(marker):
    with pytest.raises(ValueError, match="app and login"):
        manage.render_console_page("<body>\n" + marker + "</body>\n")
