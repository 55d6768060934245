#!/usr/bin/python3
"""TLS in front of a plain TCP server, for the S3 client's TLS tests.

Usage: tls_proxy.py CERT KEY TARGET_PORT SNI_LOG
Listens on an ephemeral port of 127.0.0.1, prints it on stdout, then serves until killed:
each connection is a TLS server handshake with CERT/KEY, forwarded to 127.0.0.1:TARGET_PORT.
Every server name a client sends (SNI) is appended to SNI_LOG, "-" for none.
One asyncio loop: an SSL connection must not be read and written from two threads at once.
"""
import asyncio
import ssl
import sys

cert, key, target_port, sni_log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)


def record_sni(_sock, name, _ctx):
    with open(sni_log, "a") as log:
        log.write((name or "-") + "\n")


context.sni_callback = record_sni


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
