#!/usr/bin/env python3
"""The SMTP server's own rate, the peer of bench/notices.sh: sends N messages shaped like a dispatched notice
(plain text and HTML, Japanese, about the same size) over C connections, one smtplib client thread each, and
prints messages/s. Usage: smtp_peer.py host port N C"""
import smtplib
import sys
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP

host, port, count, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def message(i):
    m = EmailMessage(policy=SMTP)
    m["From"] = "Todoke <no-reply@todoke.local>"
    m["To"] = f"山田 花子 <user{i}@example.jp>"
    m["Subject"] = f"本日お荷物をお届けします（TD{i:010d}）"
    m["Message-ID"] = f"<peer.dispatched.{i}@todoke.local>"
    m["List-Unsubscribe"] = f"<http://127.0.0.1/t/TD{i:010d}?k=0123456789abcdef>"
    paragraphs = ["山田 花子 様", "お荷物が配達拠点を出発しました。", "お届け予定：2026年11月24日 14:00〜16:00",
                  "お受け取り方法：手渡し", "置き配の場所や時間の変更は、下のリンクからお手続きいただけます。"]
    link = f"http://127.0.0.1/t/TD{i:010d}?k=0123456789abcdef"
    m.set_content("\n\n".join(paragraphs) + f"\n\n配達状況の確認: {link}\n")
    body = "".join(f'<p style="margin:0 0 12px">{p}</p>' for p in paragraphs)
    m.add_alternative(
        '<!doctype html><html><body style="margin:0;padding:16px;font-family:sans-serif;font-size:16px;'
        'line-height:1.6;color:#222"><div style="max-width:560px;margin:0 auto"><p style="font-weight:bold;'
        f'color:#0b6e4f;margin:0 0 16px">Todoke 届け</p>{body}<p style="margin:24px 0"><a href="{link}" '
        'style="display:inline-block;padding:12px 16px;background:#0b6e4f;color:#fff;text-decoration:none;'
        'border-radius:8px">配達状況の確認</a></p></div></body></html>', subtype="html")
    return f"user{i}@example.jp", m.as_bytes()


# Written before the clock starts: this measures the server, not Python's MIME code.
messages = [message(i) for i in range(count)]


def client(share):
    with smtplib.SMTP(host, port) as smtp:
        for to, data in share:
            smtp.sendmail("no-reply@todoke.local", [to], data)


threads = [threading.Thread(target=client, args=(messages[c::connections],)) for c in range(connections)]
start = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"{count / (time.monotonic() - start):.0f}")
