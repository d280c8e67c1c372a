using System.Collections.Immutable;
using System.Security.Cryptography;
using GradOracle.Torch;

namespace GradOracle.Tests.Torch;

public class TorchSharpLoaderTests
{
    private static VersionNeed Need(string version, params string[] symbols) => new("libstdc++.so.6", version, false, 0, [.. symbols]);

    private static Dictionary<string, ImmutableHashSet<string>> Loaded(params string[] versions) => new() { ["libstdc++.so.6"] = [.. versions] };

    [Test]
    public void Nothing_is_weakened_where_the_loaded_libstdcxx_has_the_version()
    {
        var needs = new[] { Need("GLIBCXX_3.4.30", "_ZNSt6chrono3_V212system_clock3nowEv"), Need("GLIBCXX_3.4.32", "_ZSt21ios_base_library_initv") };
        Assert.That(TorchSharpLoader.Missing(needs, Loaded("GLIBCXX_3.4.30", "GLIBCXX_3.4.32")), Is.Empty);
    }

    [Test]
    public void Only_the_version_the_loaded_libstdcxx_lacks_is_weakened()
    {
        var needs = new[] { Need("GLIBCXX_3.4.30", "_ZNSt6chrono3_V212system_clock3nowEv"), Need("GLIBCXX_3.4.32", "_ZSt21ios_base_library_initv") };
        Assert.That(TorchSharpLoader.Missing(needs, Loaded("GLIBCXX_3.4.30")).Select(n => n.Version), Is.EqualTo(new[] { "GLIBCXX_3.4.32" }));
    }

    [Test]
    public void A_missing_version_that_binds_a_real_function_is_refused_naming_it()
    {
        var needs = new[] { Need("GLIBCXX_3.4.33", "_ZSt21ios_base_library_initv", "_ZNSt8__format5_SinkIcE8_M_writeEPKcm") };
        var e = Assert.Throws<NotSupportedException>(() => TorchSharpLoader.Missing(needs, Loaded("GLIBCXX_3.4.30")));
        Assert.That(e!.Message, Does.Contain("GLIBCXX_3.4.33").And.Contain("_ZNSt8__format5_SinkIcE8_M_writeEPKcm").And.Not.Contain("ios_base_library_init"));
    }

    [Test]
    public void A_library_that_is_not_loaded_is_left_to_the_dynamic_loader()
    {
        var needs = new[] { new VersionNeed("libfoo.so.1", "FOO_2", false, 0, ["foo"]) };
        Assert.That(TorchSharpLoader.Missing(needs, Loaded("GLIBCXX_3.4.30")), Is.Empty);
    }

    [Test]
    public void Libtorch_loads_and_the_packages_own_file_is_left_unchanged()
    {
        TorchRequirement.Ensure();
        var a = TorchBridge.Availability;
        Assert.That(a.Version, Is.EqualTo("2.10.0"));
        Assert.That(a.Message, Does.StartWith("libtorch 2.10.0 through TorchSharp 0.107.0, loaded in"));
        var system = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (File.Exists(system))
        {
            bool lacks = !ElfSymbolVersions.Definitions(File.ReadAllBytes(system)).Contains("GLIBCXX_3.4.32");
            Assert.That(a.Message.Contains("GLIBCXX_3.4.32 made weak"), Is.EqualTo(lacks), a.Message);
        }
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", "torchsharp", "0.107.0",
            "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (File.Exists(cache))
            Assert.That(SHA256.HashData(File.ReadAllBytes(output)), Is.EqualTo(SHA256.HashData(File.ReadAllBytes(cache))), "the build output's copy is the package's, unpatched");
        Assert.That(ElfSymbolVersions.Needs(File.ReadAllBytes(output)).All(n => !n.Weak || n.Version != "GLIBCXX_3.4.32"), Is.True);
    }
}
