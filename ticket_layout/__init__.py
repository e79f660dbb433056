"""The paper ticket's layout, shared by the printer client (ESC/POS bytes) and the server
(the PNG preview): pure layout over Pillow, qrcode and python-escpos, no I/O of ours.

It imports nothing of queue_server, display_client or printer_client (.importlinter)."""
