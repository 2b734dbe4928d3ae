#!/usr/bin/env python3
"""Checks a font subset written by src/render/font.rs with an independent parser, fontTools.

Called by the tests of src/render/font.rs with a JSON request on stdin:
  {"original": "<ttf path>", "subset": "<ttf path>",
   "map": [[old gid, new gid], ...],
   "chars": [["é", old gid, advance], ...]}   # what font.rs read from the original
Prints "ok: ..." and exits 0; otherwise prints every failure and exits 1 (2 without fontTools).
"""
import io
import json
import logging
import struct
import sys

try:
    from fontTools.pens.boundsPen import ControlBoundsPen
    from fontTools.pens.recordingPen import DecomposingRecordingPen
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.sfnt import calcChecksum
except ImportError:
    print("fontTools is missing: .venv/bin/pip install fonttools (version pinned in scripts/requirements.txt)")
    sys.exit(2)

EXPECTED_TABLES = {"head", "hhea", "maxp", "hmtx", "loca", "glyf", "post", "OS/2", "name"}
FORBIDDEN_TABLES = {"cmap", "cvt ", "fpgm", "prep", "gasp"}
WE_HAVE_INSTRUCTIONS = 0x0100

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


class Warnings(logging.Handler):
    """fontTools reports what it tolerates (bad checksums, odd tables) as log warnings."""

    def emit(self, record):
        failures.append(f"fontTools warned: {record.getMessage()}")


def check_chars(original, chars):
    """What font.rs read from the original (cmap, hmtx) is what fontTools reads."""
    cmap = original.getBestCmap()
    for char, gid, advance in chars:
        name = cmap.get(ord(char))
        if check(name is not None, f"fontTools finds no glyph for {char!r}"):
            check(original.getGlyphID(name) == gid, f"{char!r}: glyph {original.getGlyphID(name)} in fontTools, {gid} in font.rs")
            check(original["hmtx"][name][0] == advance, f"{char!r}: advance {original['hmtx'][name][0]} in fontTools, {advance} in font.rs")


def check_directory(data):
    """The sfnt header, sorted and aligned tables, every checksum and checkSumAdjustment."""
    version, count, search_range, entry_selector, range_shift = struct.unpack(">IHHHH", data[:12])
    check(version == 0x00010000, f"sfnt version {version:#x}")
    power = 1 << (count.bit_length() - 1)
    check((search_range, entry_selector, range_shift) == (16 * power, power.bit_length() - 1, 16 * count - 16 * power),
          f"searchRange/entrySelector/rangeShift {search_range}/{entry_selector}/{range_shift} for {count} tables")
    records = [struct.unpack(">4sIII", data[12 + 16 * i:28 + 16 * i]) for i in range(count)]
    tags = [tag for tag, _, _, _ in records]
    check(tags == sorted(tags), f"table directory not sorted: {tags}")
    head_offset = None
    for tag, recorded, offset, length in records:
        check(offset % 4 == 0, f"table {tag} at unaligned offset {offset}")
        table = data[offset:offset + length]
        if tag == b"head":
            head_offset = offset
            table = table[:8] + b"\0\0\0\0" + table[12:]
        check(calcChecksum(table) == recorded, f"checksum of {tag}: {calcChecksum(table):#x} computed, {recorded:#x} written")
    check(len(data) % 4 == 0, "file length not a multiple of 4")
    if check(head_offset is not None, "no head table"):
        adjustment = struct.unpack(">I", data[head_offset + 8:head_offset + 12])[0]
        zeroed = data[:head_offset + 8] + b"\0\0\0\0" + data[head_offset + 12:]
        check((0xB1B0AFBA - calcChecksum(zeroed)) & 0xFFFFFFFF == adjustment, "checkSumAdjustment does not match the file")


def outline(font, name):
    """The glyph drawn with its components decomposed, and its control bounds."""
    glyph_set = font.getGlyphSet()
    pen = DecomposingRecordingPen(glyph_set)
    glyph_set[name].draw(pen)
    bounds = ControlBoundsPen(glyph_set)
    glyph_set[name].draw(bounds)
    return pen.value, bounds.bounds


def check_glyph(original, subset, old, new, new_of):
    old_name, new_name = original.getGlyphName(old), subset.getGlyphName(new)
    before, after = original["glyf"][old_name], subset["glyf"][new_name]
    what = f"glyph {old} ({old_name}) -> {new}"
    check(before.numberOfContours == after.numberOfContours, f"{what}: contour count differs")
    if hasattr(before, "xMin"):
        check((before.xMin, before.yMin, before.xMax, before.yMax) == (after.xMin, after.yMin, after.xMax, after.yMax), f"{what}: bbox differs")
    if before.isComposite():
        check(len(before.components) == len(after.components), f"{what}: component count differs")
        for b, a in zip(before.components, after.components):
            expected = new_of.get(original.getGlyphID(b.glyphName))
            check(subset.getGlyphID(a.glyphName) == expected, f"{what}: component {b.glyphName} is {a.glyphName}, not new glyph {expected}")
            check(b.flags & ~WE_HAVE_INSTRUCTIONS == a.flags, f"{what}: component flags differ")
            for field in ("x", "y", "firstPt", "secondPt", "transform"):
                check(getattr(b, field, None) == getattr(a, field, None), f"{what}: component {field} differs")
    elif before.numberOfContours > 0:
        check(list(before.coordinates) == list(after.coordinates), f"{what}: coordinates differ")
        check(list(before.endPtsOfContours) == list(after.endPtsOfContours), f"{what}: contour ends differ")
        check(list(before.flags) == list(after.flags), f"{what}: point flags differ")
    program = getattr(after, "program", None)
    check(program is None or len(program.getBytecode()) == 0, f"{what}: instructions left")
    check(outline(original, old_name) == outline(subset, new_name), f"{what}: decomposed outline differs")
    check(original["hmtx"][old_name] == subset["hmtx"][new_name], f"{what}: metrics {original['hmtx'][old_name]} became {subset['hmtx'][new_name]}")


def check_round_trip(subset):
    """fontTools compiles the font again, and its TTX dump reads back."""
    binary = io.BytesIO()
    subset.save(binary)
    TTFont(io.BytesIO(binary.getvalue()))["glyf"]
    xml = io.StringIO()
    subset.saveXML(xml)
    TTFont().importXML(io.StringIO(xml.getvalue()))


def main():
    request = json.load(sys.stdin)
    logging.getLogger("fontTools").addHandler(Warnings(logging.WARNING))
    try:
        check_subset(request)
    except Exception as error:  # what fontTools could not read is a failure like the others
        failures.append(f"fontTools raised {type(error).__name__}: {error}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"ok: {len(request['map'])} glyphs, {len(open(request['subset'], 'rb').read())} bytes")


def check_subset(request):
    original = TTFont(request["original"])
    check_chars(original, request["chars"])
    data = open(request["subset"], "rb").read()
    check_directory(data)
    # checkChecksums=2: fontTools raises on a table whose checksum it recomputes differently.
    subset = TTFont(request["subset"], checkChecksums=2)
    tables = set(subset.keys()) - {"GlyphOrder"}
    check(tables == EXPECTED_TABLES, f"tables {sorted(tables)}, expected {sorted(EXPECTED_TABLES)}")
    check(not tables & FORBIDDEN_TABLES, f"tables that should be gone: {sorted(tables & FORBIDDEN_TABLES)}")
    new_of = dict(request["map"])
    count = len(new_of)
    check(subset["maxp"].numGlyphs == count, f"maxp numGlyphs {subset['maxp'].numGlyphs}, {count} expected")
    check(subset["hhea"].numberOfHMetrics == count, f"hhea numberOfHMetrics {subset['hhea'].numberOfHMetrics}, {count} expected")
    check(len(subset.getGlyphOrder()) == count, f"{len(subset.getGlyphOrder())} glyphs in fontTools' order")
    check(subset["post"].formatType == 3.0, f"post format {subset['post'].formatType}")
    check(sorted(new_of.values()) == list(range(count)), "new glyph ids are not 0..n")
    for char, gid, _ in request["chars"]:
        check(gid in new_of, f"{char!r} (glyph {gid}) not in the subset")
    for old, new in sorted(new_of.items()):
        check_glyph(original, subset, old, new, new_of)
    check_round_trip(subset)


if __name__ == "__main__":
    main()
