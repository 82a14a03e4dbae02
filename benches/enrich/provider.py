#!/usr/bin/env python3
"""A local data provider for the enrichment benchmark: answers every GET /{domain} after a fixed
delay (default 100 ms) with a company record in Apollo's shape, many requests at once (a thread
each), and counts what it served.
Usage: provider.py PORT [DELAY_MS]"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
delay = (int(sys.argv[2]) if len(sys.argv) > 2 else 100) / 1000
served = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global served
        time.sleep(delay)
        domain = self.path.rsplit("=", 1)[-1]
        n = sum(domain.encode()) % 900 + 10
        body = json.dumps({"organization": {"id": domain, "estimated_num_employees": n,
                                            "industry": "computer software",
                                            "technology_names": ["Zapier", "HubSpot"]}}).encode()
        with lock:
            served += 1
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
try:
    server.serve_forever()
finally:
    print(f"served {served}", file=sys.stderr)
