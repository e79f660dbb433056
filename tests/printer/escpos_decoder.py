"""A small ESC/POS decoder for tests: bytes → elements, failing loudly on anything it does not know.

It understands exactly the commands a ticket should contain, so a stray byte in the output
(a python-escpos code-page switch, a control character from the content) fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class DecodeError(ValueError):
    pass


@dataclass(frozen=True)
class Init:
    pass


@dataclass(frozen=True)
class Align:
    mode: str  # left | center | right


@dataclass(frozen=True)
class Size:
    width: int
    height: int


@dataclass(frozen=True)
class Bold:
    on: bool


@dataclass(frozen=True)
class Text:
    text: str
    chinese: bool  # printed in Chinese (FS &) mode, decoded from GBK


@dataclass(frozen=True)
class LineFeed:
    pass


@dataclass(frozen=True)
class Feed:
    lines: int


@dataclass(frozen=True)
class Qr:
    payload: str
    module_size: int
    ec: str
    model: int


@dataclass(frozen=True)
class Raster:
    width: int  # dots
    height: int
    data: bytes = field(repr=False)  # rows of width/8 bytes, MSB leftmost, 1 = black

    def dark(self, x: int, y: int) -> bool:
        row = self.width // 8
        return bool(self.data[y * row + x // 8] & (0x80 >> (x % 8)))

    def rows(self) -> list[bytes]:
        row = self.width // 8
        return [self.data[y * row : (y + 1) * row] for y in range(self.height)]


@dataclass(frozen=True)
class Cut:
    partial: bool


Element = Init | Align | Size | Bold | Text | LineFeed | Feed | Qr | Raster | Cut

_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


class _Decoder:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.chinese = False
        self.out: list[Element] = []
        self.qr: dict[str, object] = {}

    def fail(self, why: str, at: int | None = None) -> DecodeError:
        at = self.pos if at is None else at
        context = self.data[max(0, at - 8) : at + 8].hex(" ")
        return DecodeError(f"{why} at byte {at} (around: {context})")

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(f"command truncated: needs {n} more bytes")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def run(self) -> list[Element]:
        while self.pos < len(self.data):
            start = self.pos
            byte = self.data[self.pos]
            if byte == 0x0A:
                self.pos += 1
                self.out.append(LineFeed())
            elif byte == 0x1B:
                self.pos += 1
                self.esc(start)
            elif byte == 0x1D:
                self.pos += 1
                self.gs(start)
            elif byte == 0x1C:
                self.pos += 1
                self.fs(start)
            elif byte >= 0x20 and byte != 0x7F:
                self.text()
            else:
                raise self.fail(f"unknown control byte 0x{byte:02x}")
        if self.chinese:
            raise self.fail("output ends in Chinese mode (no FS .)")
        return self.out

    def text(self) -> None:
        start = self.pos
        chars: list[str] = []
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            if 0x20 <= byte < 0x7F:
                chars.append(chr(byte))
                self.pos += 1
            elif byte >= 0x81 and byte != 0xFF and self.chinese:
                pair = self.take(2)
                try:
                    chars.append(pair.decode("gbk"))
                except UnicodeDecodeError:
                    raise self.fail(f"invalid GBK pair {pair.hex()}", self.pos - 2) from None
            elif byte >= 0x80 and self.chinese:
                raise self.fail(f"byte 0x{byte:02x} is not a GBK lead byte")
            elif byte >= 0x80:
                raise self.fail(
                    f"byte 0x{byte:02x} outside Chinese mode would print from a code page"
                )
            else:
                break
        if not chars:
            raise self.fail(f"unexpected byte 0x{self.data[start]:02x}", start)
        self.out.append(Text("".join(chars), self.chinese))

    def esc(self, start: int) -> None:
        cmd = self.take(1)
        if cmd == b"@":
            self.chinese = False
            self.out.append(Init())
        elif cmd == b"a":
            n = self.take(1)[0]
            if n not in _ALIGN:
                raise self.fail(f"ESC a {n}", start)
            self.out.append(Align(_ALIGN[n]))
        elif cmd == b"E":
            self.out.append(Bold(bool(self.take(1)[0] & 1)))
        elif cmd == b"d":
            self.out.append(Feed(self.take(1)[0]))
        else:
            raise self.fail(f"unknown command ESC {cmd!r}", start)

    def fs(self, start: int) -> None:
        cmd = self.take(1)
        if cmd == b"&":
            if self.chinese:
                raise self.fail("FS & while already in Chinese mode", start)
            self.chinese = True
        elif cmd == b".":
            if not self.chinese:
                raise self.fail("FS . outside Chinese mode", start)
            self.chinese = False
        else:
            raise self.fail(f"unknown command FS {cmd!r}", start)

    def gs(self, start: int) -> None:
        cmd = self.take(1)
        if cmd == b"!":
            n = self.take(1)[0]
            self.out.append(Size(width=(n >> 4) + 1, height=(n & 0x0F) + 1))
        elif cmd == b"V":
            m = self.take(1)[0]
            if m in (0, 48):
                self.out.append(Cut(partial=False))
            elif m in (1, 49):
                self.out.append(Cut(partial=True))
            elif m in (65, 66):
                self.out.append(Feed(self.take(1)[0]))
                self.out.append(Cut(partial=m == 66))
            else:
                raise self.fail(f"GS V {m}", start)
        elif cmd == b"v":
            if self.take(1) != b"0":
                raise self.fail("GS v other than GS v 0", start)
            mode = self.take(1)[0]
            if mode not in (0, 48):
                raise self.fail(f"GS v 0 with scaled mode {mode}", start)
            header = self.take(4)
            width_bytes = header[0] | header[1] << 8
            height = header[2] | header[3] << 8
            self.out.append(Raster(width_bytes * 8, height, self.take(width_bytes * height)))
        elif cmd == b"(":
            if self.take(1) != b"k":
                raise self.fail("GS ( other than GS ( k", start)
            self.qr_function(start)
        else:
            raise self.fail(f"unknown command GS {cmd!r}", start)

    def qr_function(self, start: int) -> None:
        header = self.take(2)
        body = self.take(header[0] | header[1] << 8)
        if len(body) < 2 or body[0] != ord("1"):
            raise self.fail("GS ( k for a symbol other than QR", start)
        fn, args = body[1], body[2:]
        if fn == 65:  # select model
            self.qr["model"] = args[0] - 48
        elif fn == 67:  # module size
            self.qr["size"] = args[0]
        elif fn == 69:  # error correction
            self.qr["ec"] = _EC[args[0]]
        elif fn == 80:  # store data
            if args[:1] != b"0":
                raise self.fail("QR store with m != '0'", start)
            self.qr["payload"] = args[1:].decode("utf-8")
        elif fn == 81:  # print
            if "payload" not in self.qr:
                raise self.fail("QR print with no data stored", start)
            self.out.append(
                Qr(
                    payload=str(self.qr["payload"]),
                    module_size=int(self.qr.get("size", 3)),  # type: ignore[call-overload]
                    ec=str(self.qr.get("ec", "L")),
                    model=int(self.qr.get("model", 2)),  # type: ignore[call-overload]
                )
            )
        else:
            raise self.fail(f"unknown QR function {fn}", start)


def decode(data: bytes) -> list[Element]:
    """Every command and text run in `data`, in order."""
    return _Decoder(data).run()


@dataclass(frozen=True)
class PrintedLine:
    """A line of text as it comes out: its text and the state it was printed in."""

    text: str
    width: int
    height: int
    align: str
    bold: bool
    chinese: bool


def printed_lines(elements: list[Element]) -> list[PrintedLine]:
    """Text runs joined into lines (up to each line feed), with size, alignment and boldness."""
    lines: list[PrintedLine] = []
    size, align, bold = Size(1, 1), "left", False
    pending: list[Text] = []
    for element in elements:
        match element:
            case Init():
                size, align, bold = Size(1, 1), "left", False
            case Size():
                size = element
            case Align(mode=mode):
                align = mode
            case Bold(on=on):
                bold = on
            case Text():
                pending.append(element)
            case LineFeed() | Feed():
                if pending:
                    lines.append(
                        PrintedLine(
                            "".join(t.text for t in pending),
                            size.width,
                            size.height,
                            align,
                            bold,
                            any(t.chinese for t in pending),
                        )
                    )
                    pending = []
    return lines
