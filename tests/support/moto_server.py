"""Runs moto's Secrets Manager server on a free loopback port for the tests.

Prints the port on the first line, then serves until standard input closes,
so the server never outlives the test process that started it.
"""

import os
import sys

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
