using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;

namespace GradOracle.Torch;

/// <summary>
/// One symbol-version requirement of an ELF shared library (a vernaux entry of <c>.gnu.version_r</c>): the
/// library it is needed from, the version, whether it is weak, and the undefined symbols bound to it.
/// </summary>
/// <param name="File">The needed library, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Weak">VER_FLG_WEAK is set: the loader accepts a library that lacks the version.</param>
/// <param name="FlagsOffset">File offset of the entry's 16-bit vna_flags.</param>
/// <param name="Symbols">The dynamic symbols whose version index is this entry's.</param>
internal sealed record VersionNeed(string File, string Version, bool Weak, long FlagsOffset, ImmutableArray<string> Symbols);

/// <summary>
/// Reads and edits the symbol-version tables of a 64-bit little-endian ELF file (System V gABI and the GNU
/// symbol-versioning extension), enough to see what a library requires and to make one requirement weak.
/// </summary>
internal static class ElfSymbolVersions
{
    private const uint ShtDynsym = 11, ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

    /// <summary>VER_FLG_WEAK: a missing version is then not a load error.</summary>
    public const ushort WeakFlag = 0x2;

    private readonly record struct Section(uint Type, long Offset, long Size, int Link);

    /// <summary>Every version requirement of <paramref name="elf"/>, with the symbols bound to each.</summary>
    public static ImmutableArray<VersionNeed> Needs(byte[] elf)
    {
        var sections = Sections(elf);
        var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
        if (verneed.Type == 0) return [];
        var strings = sections[verneed.Link];
        var bound = SymbolsByVersionIndex(elf, sections);
        var result = ImmutableArray.CreateBuilder<VersionNeed>();
        long need = verneed.Offset;
        while (true)
        {
            int count = U16(elf, need + 2);
            string file = Str(elf, strings, U32(elf, need + 4));
            long aux = need + U32(elf, need + 8);
            for (int k = 0; k < count; k++)
            {
                ushort flags = U16(elf, aux + 4), index = U16(elf, aux + 6);
                string version = Str(elf, strings, U32(elf, aux + 8));
                result.Add(new VersionNeed(file, version, (flags & WeakFlag) != 0, aux + 4, bound.TryGetValue(index, out var s) ? [.. s] : []));
                uint nextAux = U32(elf, aux + 12);
                if (nextAux == 0) break;
                aux += nextAux;
            }
            uint next = U32(elf, need + 12);
            if (next == 0) break;
            need += next;
        }
        return result.ToImmutable();
    }

    /// <summary>The version names <paramref name="elf"/> defines (<c>.gnu.version_d</c>), e.g. every GLIBCXX_* of a libstdc++.</summary>
    public static ImmutableHashSet<string> Definitions(byte[] elf)
    {
        var sections = Sections(elf);
        var verdef = sections.FirstOrDefault(s => s.Type == ShtGnuVerdef);
        if (verdef.Type == 0) return [];
        var strings = sections[verdef.Link];
        var names = ImmutableHashSet.CreateBuilder<string>();
        long def = verdef.Offset;
        while (true)
        {
            // The first verdaux names the version itself; later ones name its predecessors.
            if (U16(elf, def + 6) > 0) names.Add(Str(elf, strings, U32(elf, def + U32(elf, def + 12))));
            uint next = U32(elf, def + 16);
            if (next == 0) break;
            def += next;
        }
        return names.ToImmutable();
    }

    /// <summary>A copy of <paramref name="elf"/> with VER_FLG_WEAK set on each of <paramref name="needs"/>; nothing else changes.</summary>
    public static byte[] Weaken(byte[] elf, IEnumerable<VersionNeed> needs)
    {
        var copy = (byte[])elf.Clone();
        foreach (var n in needs)
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(checked((int)n.FlagsOffset)), (ushort)(U16(copy, n.FlagsOffset) | WeakFlag));
        return copy;
    }

    private static Dictionary<int, List<string>> SymbolsByVersionIndex(byte[] elf, Section[] sections)
    {
        var result = new Dictionary<int, List<string>>();
        var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
        var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
        if (dynsym.Type == 0 || versym.Type == 0) return result;
        var strings = sections[dynsym.Link];
        long count = Math.Min(dynsym.Size / 24, versym.Size / 2);
        for (long i = 1; i < count; i++)
        {
            int index = U16(elf, versym.Offset + 2 * i) & 0x7fff;
            if (index < 2) continue; // 0 local, 1 global: not bound to a version
            if (!result.TryGetValue(index, out var list)) result[index] = list = [];
            list.Add(Str(elf, strings, U32(elf, dynsym.Offset + 24 * i)));
        }
        return result;
    }

    private static Section[] Sections(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not a 64-bit little-endian ELF file");
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x28));
        int entsize = U16(elf, 0x3A), count = U16(elf, 0x3C);
        if (entsize < 64 || shoff <= 0 || shoff + (long)entsize * count > elf.Length) throw new InvalidDataException("ELF section headers lie outside the file");
        var sections = new Section[count];
        for (int i = 0; i < count; i++)
        {
            long h = shoff + (long)i * entsize;
            var s = new Section(U32(elf, h + 4), (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)h + 24)),
                (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)h + 32)), (int)U32(elf, h + 40));
            if (s.Type is ShtDynsym or ShtGnuVerdef or ShtGnuVerneed or ShtGnuVersym && (s.Offset < 0 || s.Offset + s.Size > elf.Length || s.Link >= count))
                throw new InvalidDataException($"ELF section {i} lies outside the file");
            sections[i] = s;
        }
        return sections;
    }

    private static ushort U16(byte[] b, long at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(checked((int)at)));

    private static uint U32(byte[] b, long at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(checked((int)at)));

    private static string Str(byte[] b, Section table, uint offset)
    {
        int start = checked((int)(table.Offset + offset));
        int end = Array.IndexOf(b, (byte)0, start);
        if (end < 0 || end > table.Offset + table.Size) throw new InvalidDataException("ELF string runs past its table");
        return Encoding.ASCII.GetString(b, start, end - start);
    }
}
