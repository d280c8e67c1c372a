using GradOracle.Torch;

namespace GradOracle.Tests.Torch;

public class ElfSymbolVersionsTests
{
    private static string Package(string file) => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", file);

    private static byte[] LibTorchSharp()
    {
        var path = Package("libLibTorchSharp.so");
        if (File.Exists(path)) return File.ReadAllBytes(path);
        var why = $"{path} is not in the build output (the TorchSharp-cpu package restores it on linux-x64)";
        if (Environment.GetEnvironmentVariable("GRADORACLE_REQUIRE_TORCH") == "1") Assert.Fail($"GRADORACLE_REQUIRE_TORCH=1 but {why}");
        Assert.Ignore(why);
        return File.ReadAllBytes(path);
    }

    [Test]
    public void The_packages_library_needs_GLIBCXX_3_4_32_for_the_iostream_marker_only()
    {
        var need = ElfSymbolVersions.Needs(LibTorchSharp()).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.That(need.File, Is.EqualTo("libstdc++.so.6"));
        Assert.That(need.Weak, Is.False);
        Assert.That(need.Symbols, Is.EqualTo(new[] { "_ZSt21ios_base_library_initv" }));
    }

    [Test]
    public void Weakening_sets_one_flag_bit_and_changes_nothing_else()
    {
        var original = LibTorchSharp();
        var need = ElfSymbolVersions.Needs(original).Single(n => n.Version == "GLIBCXX_3.4.32");
        var copy = ElfSymbolVersions.Weaken(original, [need]);
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != copy[i]).ToList();
        Assert.That(changed, Is.EqualTo(new[] { (int)need.FlagsOffset }));
        Assert.That(copy[need.FlagsOffset] ^ original[need.FlagsOffset], Is.EqualTo(ElfSymbolVersions.WeakFlag));
        var after = ElfSymbolVersions.Needs(copy);
        Assert.That(after.Single(n => n.Version == "GLIBCXX_3.4.32").Weak, Is.True);
        Assert.That(after.Count(n => n.Weak), Is.EqualTo(1), "every other requirement stays as it was");
    }

    [Test]
    public void A_libstdcxx_lists_the_versions_it_defines()
    {
        var path = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!File.Exists(path)) Assert.Ignore($"no {path} on this machine");
        var defined = ElfSymbolVersions.Definitions(File.ReadAllBytes(path));
        Assert.That(defined, Does.Contain("GLIBCXX_3.4").And.Contain("GLIBCXX_3.4.30").And.Contain("CXXABI_1.3"));
    }

    [Test]
    public void A_file_that_is_not_a_64_bit_ELF_is_refused_with_a_reason()
    {
        Assert.That(() => ElfSymbolVersions.Needs("#!/bin/sh\n"u8.ToArray()), Throws.TypeOf<InvalidDataException>().With.Message.Contains("not an ELF"));
        var elf32 = new byte[64];
        "\u007fELF"u8.CopyTo(elf32);
        elf32[4] = 1;
        Assert.That(() => ElfSymbolVersions.Needs(elf32), Throws.TypeOf<InvalidDataException>().With.Message.Contains("64-bit"));
    }
}
