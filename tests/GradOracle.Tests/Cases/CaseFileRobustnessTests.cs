using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GradOracle.Cases;
using GradOracle.Tests.Verification;

namespace GradOracle.Tests.Cases;

/// <summary>Hostile case files: each is reported as that file's error, by name, with the JSON path and the rule, and the others are still verified.</summary>
[NonParallelizable]
public class CaseFileRobustnessTests
{
    private const string Good = "avg_pool1d/good";
    private const string Raw = "@raw@";
    private static readonly string Source = CaseStore.FindFromCheckout(TestContext.CurrentContext.TestDirectory)
        .VerifiedPath("avg_pool1d/rank-1-overlapping-padding-edge-62fd35bc");

    private string dir = "";
    private CaseStore store = null!;

    [SetUp]
    public void WriteOneGoodCase()
    {
        dir = Path.Combine(Path.GetTempPath(), $"gradoracle-hostile-{Guid.NewGuid():N}");
        store = new CaseStore(dir);
        Write("good", _ => { });
    }

    [TearDown]
    public void Remove() => Directory.Delete(dir, recursive: true);

    /// <summary>Writes avg_pool1d/<paramref name="name"/>.json: the source case with its id at its place, changed; "@raw@" (quoted) is then replaced by <paramref name="raw"/>.</summary>
    private string Write(string name, Action<JsonObject> change, string? raw = null)
    {
        var c = (JsonObject)JsonNode.Parse(File.ReadAllText(Source))!;
        c["id"] = $"avg_pool1d/{name}";
        change(c);
        var text = c.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (raw is not null) text = text.Replace($"\"{Raw}\"", raw);
        return WriteText(name, text);
    }

    private string WriteText(string name, string text) => WriteBytes(name, Encoding.UTF8.GetBytes(text));

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, "avg_pool1d", name + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Sets the member at a dotted path ("provenance.finite_differences.elements").</summary>
    private static void Set(JsonObject c, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        var o = c;
        foreach (var p in parts[..^1]) o = (JsonObject)o[p]!;
        o[parts[^1]] = value;
    }

    private static void TamperOutput(JsonObject c)
    {
        var data = (JsonArray)c["expected"]!["output"]!["data"]!;
        data[0] = data[0]!.GetValue<double>() + 1;
    }

    /// <summary>Verifies the store and returns the problems reported for <paramref name="path"/>, after checking that the good case still passes.</summary>
    private string ProblemsOf(string path)
    {
        var results = CaseVerifier.Verify(store, crossCheck: null);
        Assert.That(results.Single(r => r.Id == Good).Passed, Is.True, "the other files are still verified");
        var result = results.Single(r => r.Path == path);
        Assert.That(result.Passed, Is.False, $"{path} is reported bad");
        return string.Join("\n", result.Problems);
    }

    [TestCase("\"12\"")]
    [TestCase("12.5")]
    [TestCase("1e400")]
    [TestCase("-1")]
    public void A_provenance_count_that_is_no_non_negative_integer_is_that_files_error(string count)
    {
        var path = Write("count", c => Set(c, "provenance.finite_differences.elements", Raw), raw: count);
        Assert.That(ProblemsOf(path), Does.Contain("provenance.finite_differences.elements").And.Contain("non-negative integer"));
    }

    [TestCase("provenance.finite_differences", "[1, 2]")]
    [TestCase("provenance.libtorch", "[]")]
    [TestCase("provenance.libtorch.version", "3")]
    [TestCase("provenance", "\"x\"")]
    [TestCase("expected", "[]")]
    [TestCase("expected.grads", "[]")]
    [TestCase("inputs.input", "[]")]
    [TestCase("inputs.input.shape", "{}")]
    [TestCase("tolerances.output", "\"exact\"")]
    [TestCase("attrs", "[]")]
    public void A_member_of_the_wrong_json_kind_is_that_files_error_naming_its_path(string member, string value)
    {
        var path = Write("kind", c => Set(c, member, Raw), raw: value);
        Assert.That(ProblemsOf(path), Does.Contain("format: ").And.Contain(member + ":"));
    }

    [TestCase("description")]
    [TestCase("attrs.mode")]
    [TestCase("provenance.generator")]
    [TestCase("flags")]
    public void A_lone_surrogate_in_a_string_is_that_files_error_naming_its_path(string member)
    {
        var path = Write("surrogate", c => Set(c, member, member == "flags" ? new JsonArray(Raw) : Raw), raw: "\"a\\ud800b\"");
        Assert.That(ProblemsOf(path), Does.Contain(member == "flags" ? "flags[0]" : member).And.Contain("lone surrogate"));
    }

    [Test]
    public void A_lone_surrogate_in_a_member_name_is_that_files_error()
    {
        var path = Write("surrogate-name", c => Set(c, $"attrs.{Raw}", 1), raw: "\"\\udc00\"");
        Assert.That(ProblemsOf(path), Does.Contain("attrs").And.Contain("lone surrogate"));
    }

    [Test]
    public void A_member_named_twice_is_that_files_error()
    {
        // System.Text.Json keeps the first, Python's json the last: the file means different things to different readers.
        var path = Write("twice", c => Set(c, $"attrs.{Raw}", 99), raw: "\"kernel_size\"");
        Assert.That(ProblemsOf(path), Does.Contain("attrs.kernel_size").And.Contain("twice"));
    }

    [Test]
    public void A_shape_past_the_element_limit_is_that_files_error()
    {
        var path = Write("huge-shape", c => Set(c, "inputs.input.shape", new JsonArray(100000, 100000)));
        Assert.That(ProblemsOf(path), Does.Contain("inputs.input.shape").And.Contain("more than the limit"));
    }

    [TestCase("kernel_size", 2147483647)]
    [TestCase("padding", 2147483647)]
    [TestCase("stride", 0)]
    public void A_window_the_oracle_refuses_is_that_files_error(string attr, int value)
    {
        var path = Write("huge-kernel", c => Set(c, $"attrs.{attr}", new JsonArray(value)));
        Assert.That(ProblemsOf(path), Does.Contain("the oracle refuses the case").And.Contain(attr));
    }

    [TestCase("{\"format\": ")]
    [TestCase("")]
    [TestCase("{} {}")]
    [TestCase("[1, 2]")]
    [TestCase("{\"format\": \"gradoracle-case-1\",}")]
    public void Text_that_is_no_json_object_is_that_files_error(string text)
    {
        var path = WriteText("not-json", text);
        Assert.That(ProblemsOf(path), Does.Contain("$: "));
    }

    [Test]
    public void Bytes_that_are_not_utf8_are_that_files_error()
    {
        // A surrogate written as raw UTF-8 bytes (CESU-8) is no UTF-8; a lenient decoder would turn it into U+FFFD silently.
        var text = File.ReadAllBytes(Write("not-utf8", c => c["description"] = Raw));
        var at = Encoding.UTF8.GetString(text).IndexOf(Raw, StringComparison.Ordinal);
        byte[] bytes = [.. text[..at], 0xED, 0xA0, 0x80, .. text[(at + Raw.Length)..]];
        var path = WriteBytes("not-utf8", bytes);
        Assert.That(ProblemsOf(path), Does.Contain("UTF-8"));
    }

    [TestCase("atol", "1e400")]
    [TestCase("atol", "\"Infinity\"")]
    [TestCase("rtol", "1e400")]
    [TestCase("rtol", "\"NaN\"")]
    [TestCase("atol", "-1e-11")]
    public void A_tolerance_that_is_not_finite_and_non_negative_is_that_files_error_and_passes_no_wrong_value(string bound, string value)
    {
        var path = Write("tolerance", c => { TamperOutput(c); c["tolerances"]!["output"]![bound] = Raw; }, raw: value);
        Assert.That(ProblemsOf(path), Does.Contain($"tolerances.output.{bound}"));
    }

    [Test]
    public void A_finite_tolerance_still_catches_a_wrong_expected_value()
    {
        var path = Write("tolerance", c => { TamperOutput(c); c["tolerances"]!["output"]!["atol"] = 0.5; });
        Assert.That(ProblemsOf(path), Does.Contain("oracle: ").And.Contain("output (atol 0.5"));
    }

    [Test]
    public void Load_all_returns_the_cases_that_load_and_the_path_and_reason_of_every_other_file()
    {
        var count = Write("count", c => Set(c, "provenance.finite_differences.elements", "12"));
        var kernel = Write("kernel", c => Set(c, "attrs.kernel_size", new JsonArray(2147483647)));
        var place = Write("place", c => c["id"] = "avg_pool1d/elsewhere");
        var dy = Write("dy", c => Set(c, "grad_output.shape", new JsonArray(4, 5)));

        var load = store.LoadAll();

        Assert.That(load.Cases.Select(c => c.Id), Is.EqualTo(new[] { Good }));
        Assert.That(load.Bad.Select(b => b.Path), Is.EqualTo(new[] { count, dy, kernel, place }));
        var reasons = load.Bad.ToDictionary(b => b.Path, b => b.Reason);
        Assert.That(reasons[count], Does.StartWith("format: provenance.finite_differences.elements: expected a non-negative integer"));
        Assert.That(reasons[kernel], Does.StartWith("the oracle refuses the case: kernel_size[0] = 2147483647"));
        Assert.That(reasons[place], Is.EqualTo("id \"avg_pool1d/elsewhere\" does not match the file's place \"avg_pool1d/place\""));
        Assert.That(reasons[dy], Does.StartWith("the oracle refuses the case: grad_output.shape = (4, 5): must be (2, 2, 5)"));
        Assert.That(load.Bad.Select(b => b.Reason), Has.None.Contain("\n"), "one line each");
    }

    [Test]
    public void A_reason_is_one_line_whatever_the_file_holds()
    {
        var path = Write("lines", c => c["tie_policy"] = "x\ny");
        var placed = Write("placed", c => c["id"] = "avg_pool1d/a\nb");
        var reasons = store.LoadAll().Bad.ToDictionary(b => b.Path, b => b.Reason);
        Assert.That(reasons[path], Is.EqualTo("format: tie_policy: \"x\\ny\" is not one of first, last, split, all"));
        Assert.That(reasons[placed], Is.EqualTo("id \"avg_pool1d/a\\nb\" does not match the file's place \"avg_pool1d/placed\""));
    }

    [Test]
    public void Cases_verify_reports_each_bad_file_by_name_and_verifies_the_rest()
    {
        var bad = new[]
        {
            Write("count-string", c => Set(c, "provenance.finite_differences.elements", "12")),
            Write("fd-array", c => Set(c, "provenance.finite_differences", new JsonArray())),
            Write("surrogate", c => c["description"] = Raw, raw: "\"\\ud800\""),
            Write("huge-shape", c => Set(c, "inputs.input.shape", new JsonArray(100000, 100000))),
            Write("huge-kernel", c => Set(c, "attrs.kernel_size", new JsonArray(2147483647))),
            WriteText("truncated", "{\"format\""),
        };

        int exit = Tools.Run("dotnet", $"\"{Tools.CliDll}\" cases verify --dir \"{dir}\"", out var output);

        Assert.That(output, Does.Not.Contain("Unhandled").And.Not.Contain("   at "), output);
        Assert.That(exit, Is.EqualTo(1), output);
        foreach (var path in bad) Assert.That(output, Does.Contain($"FAIL {path}"), output);
        Assert.That(output, Does.Contain($"{bad.Length + 1} cases verified in {dir}: 1 pass, {bad.Length} fail"), output);
    }

    [Test]
    public void An_op_outside_the_id_pattern_is_that_files_error()
    {
        // The op stands in the id, and the id in paths: "../x" would name a file outside the store.
        var path = Write("op", c => { c["op"] = "../x"; c["id"] = "../x/op"; });
        Assert.That(ProblemsOf(path), Does.Contain("format: op: \"../x\" must be lowercase letters, digits and '_'"));
    }

    /// <summary>Runs the CLI as a child process, outside CI so that accept may write.</summary>
    private static int Cli(string args, out string output)
    {
        string text = "";
        int exit = WithoutCi(() => Tools.Run("dotnet", $"\"{Tools.CliDll}\" {args}", out text));
        output = text;
        return exit;
    }

    [Test]
    public void Cases_verify_exits_0_when_every_file_verifies()
    {
        int exit = Cli($"cases verify --dir \"{dir}\"", out var output);
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain($"1 cases verified in {dir}: 1 pass, 0 fail"), output);
    }

    [TestCase("verify")]
    [TestCase("accept --all")]
    public void A_missing_directory_is_a_usage_error_naming_dir(string command)
    {
        var missing = Path.Combine(dir, "nope");
        int exit = Cli($"cases {command} --dir \"{missing}\"", out var output);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain($"--dir {missing}: no such directory"), output);
    }

    [Test]
    public void A_directory_without_case_files_is_a_usage_error_naming_dir()
    {
        var empty = Path.Combine(dir, "empty");
        Directory.CreateDirectory(Path.Combine(empty, "avg_pool1d"));
        File.WriteAllText(Path.Combine(empty, "stray.json"), "{}"); // cases live in op folders; the root holds the schema
        int exit = Cli($"cases verify --dir \"{empty}\"", out var output);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain($"--dir {empty}: holds no case files (<op>/<name>.json)"), output);
    }

    [Test]
    public void Accept_all_reports_a_received_file_that_does_not_load_and_accepts_the_others()
    {
        File.Move(Write("a", _ => { }), store.ReceivedPath("avg_pool1d/a"));
        var bad = store.ReceivedPath("avg_pool1d/b");
        File.Move(Write("b", c => Set(c, "provenance.finite_differences.elements", "12")), bad);

        int exit = Cli($"cases accept --all --dir \"{dir}\"", out var output);

        Assert.That(output, Does.Not.Contain("Unhandled").And.Not.Contain("   at "), output);
        Assert.That(exit, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("accepted avg_pool1d/a").And.Contain($"not accepted avg_pool1d/b: {bad}: format: provenance.finite_differences.elements"), output);
        Assert.That(File.Exists(store.VerifiedPath("avg_pool1d/a")), Is.True);
        Assert.That(File.Exists(bad), Is.True, "a bad received file stays where it is");
        Assert.That(File.Exists(store.VerifiedPath("avg_pool1d/b")), Is.False);
    }

    [TestCase("../outside/x")]
    [TestCase("/etc/x")]
    [TestCase("avg_pool1d/a/b")]
    [TestCase("avg_pool1d")]
    public void Accept_refuses_an_id_that_names_no_file_of_the_store(string id)
    {
        var e = Assert.Throws<ParameterException>(() => WithoutCi(() => store.Accept(id)));
        Assert.That(e!.Message, Does.StartWith($"case-id = {id}: must be \"<op>/<name>\""));
    }

    [Test]
    public void Accept_refuses_a_received_file_whose_id_is_not_its_place()
    {
        var received = store.ReceivedPath("avg_pool1d/a");
        File.Move(Write("a", c => c["id"] = "avg_pool1d/elsewhere"), received);
        var e = Assert.Throws<CaseFormatException>(() => WithoutCi(() => store.Accept("avg_pool1d/a")));
        Assert.That(e!.Message, Does.Contain(received).And.Contain("does not match the file's place"));
        Assert.That(File.Exists(received), Is.True);
    }

    private static T WithoutCi<T>(Func<T> f)
    {
        var ci = Environment.GetEnvironmentVariable("CI");
        Environment.SetEnvironmentVariable("CI", null);
        try { return f(); }
        finally { Environment.SetEnvironmentVariable("CI", ci); }
    }
}
