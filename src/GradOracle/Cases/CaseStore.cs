using System.Diagnostics.CodeAnalysis;
using System.Text;
using GradOracle.Tensors;

namespace GradOracle.Cases;

/// <summary>
/// The reference-cases directory, with Verify's conventions: a case "op/name" is verified in
/// op/name.json; a run that disagrees writes op/name.received.json beside it; only an explicit accept
/// promotes a received file, and on CI (CI=true) nothing is written.
/// </summary>
public sealed class CaseStore(string root)
{
    /// <summary>The name of the JSON Schema file at the root.</summary>
    public const string SchemaFile = "case.schema.json";

    /// <summary>The directory.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Whether this is a CI run (CI=true or CI=1), where nothing may be written into the cases.</summary>
    public static bool IsCi => Environment.GetEnvironmentVariable("CI") is "true" or "1" or "True";

    /// <summary>The reference-cases directory of the checkout that contains <paramref name="start"/> (or the current directory).</summary>
    public static CaseStore FindFromCheckout(string? start = null)
    {
        for (var dir = new DirectoryInfo(start ?? Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "GradOracle.sln")))
                return new CaseStore(Path.Combine(dir.FullName, "reference-cases"));
        throw new DirectoryNotFoundException($"no GradOracle checkout (GradOracle.sln) above {start ?? Directory.GetCurrentDirectory()}; pass --dir");
    }

    /// <summary>Path of the verified file of case <paramref name="id"/>.</summary>
    public string VerifiedPath(string id) => Path.Combine(Root, id + ".json");

    /// <summary>Path of the received file of case <paramref name="id"/>.</summary>
    public string ReceivedPath(string id) => Path.Combine(Root, id + ".received.json");

    /// <summary>The case id a verified or received file stands for ("op/name").</summary>
    public string IdOf(string path)
    {
        var rel = Path.GetRelativePath(Root, path).Replace(Path.DirectorySeparatorChar, '/');
        return rel.EndsWith(".received.json", StringComparison.Ordinal) ? rel[..^".received.json".Length] : rel[..^".json".Length];
    }

    /// <summary>Every verified case file, sorted.</summary>
    public IReadOnlyList<string> VerifiedFiles() => Files("*.json").Where(f => !f.EndsWith(".received.json", StringComparison.Ordinal)).ToList();

    /// <summary>Every received file, sorted.</summary>
    public IReadOnlyList<string> ReceivedFiles() => Files("*.received.json").ToList();

    private IEnumerable<string> Files(string pattern) => Directory.Exists(Root)
        ? Directory.EnumerateFiles(Root, pattern, SearchOption.AllDirectories)
            .Where(f => Path.GetDirectoryName(f) != Root) // cases live in op folders; the root holds the schema
            .Order(StringComparer.Ordinal)
        : [];

    /// <summary>Reads a case file; a <see cref="CaseFormatException"/> names the file and the JSON path.</summary>
    public static ReferenceCase Load(string path)
    {
        try { return Read(path); }
        catch (CaseFormatException e) { throw new CaseFormatException($"{path}: {e.Path}", e.Message[(e.Path.Length + 2)..]); }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReferenceCase Read(string path)
    {
        // A lenient decoder would turn bytes that are not UTF-8 into U+FFFD silently: the case would load with other text.
        var bytes = File.ReadAllBytes(path);
        int start = bytes.AsSpan().StartsWith(StrictUtf8.Preamble) ? StrictUtf8.Preamble.Length : 0;
        string text;
        try { text = StrictUtf8.GetString(bytes, start, bytes.Length - start); }
        catch (DecoderFallbackException e) { throw new CaseFormatException("$", $"not valid UTF-8 (byte {start + e.Index} of the file)"); }
        return CaseFile.Read(text);
    }

    /// <summary>
    /// Loads every verified file and never throws for what a file holds: a case loads when it follows the
    /// format, its id is its file's place, and the oracle can run it (its op builds, its forward takes the
    /// inputs, grad_output has the output's shape); every other file is returned with its path and why.
    /// </summary>
    public CaseLoad LoadAll()
    {
        var cases = new List<ReferenceCase>();
        var bad = new List<(string Path, string Reason)>();
        foreach (var path in VerifiedFiles())
            if (TryLoad(path, out var c, out var reason)) cases.Add(c);
            else bad.Add((path, reason));
        return new CaseLoad(cases, bad);
    }

    private bool TryLoad(string path, [NotNullWhen(true)] out ReferenceCase? c, out string reason)
    {
        (c, reason) = Examine(path);
        reason = reason.ReplaceLineEndings(" "); // one line, whatever the file or an exception holds
        return c is not null;
    }

    /// <summary>The case when it loads (<see cref="LoadAll"/>'s rules), else null and why.</summary>
    private (ReferenceCase? Case, string Reason) Examine(string path)
    {
        try
        {
            var c = Read(path);
            if (c.Id != IdOf(path)) return (null, $"id {CaseJson.String(c.Id)} does not match the file's place {CaseJson.String(IdOf(path))}");
            var output = c.CreateOp().Forward(c.Inputs);
            Tensor.RequireShape("grad_output", c.GradOutput, output.Shape);
            return (c, "");
        }
        catch (CaseFormatException e) { return (null, $"format: {e.Message}"); }
        catch (ParameterException e) { return (null, $"the oracle refuses the case: {e.Message}"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (null, $"cannot be read: {e.Message}"); }
    }

    /// <summary>Writes the verified file (refused on CI).</summary>
    public void WriteVerified(ReferenceCase c)
    {
        RefuseOnCi();
        WriteAtomically(VerifiedPath(c.Id), CaseFile.Write(c));
    }

    /// <summary>Writes the received file beside the verified one (refused on CI).</summary>
    public string WriteReceived(ReferenceCase c)
    {
        RefuseOnCi();
        var path = ReceivedPath(c.Id);
        WriteAtomically(path, CaseFile.Write(c));
        return path;
    }

    /// <summary>
    /// Promotes case <paramref name="id"/>'s received file to verified (a rename); false when there is none.
    /// A <see cref="ParameterException"/> when the id is not "&lt;op&gt;/&lt;name&gt;", and a
    /// <see cref="CaseFormatException"/> naming the file when it would not load (<see cref="LoadAll"/>'s rules).
    /// </summary>
    public bool Accept(string id)
    {
        RefuseOnCi();
        if (!CaseFile.IsId(id))
            throw new ParameterException("case-id", id, "must be \"<op>/<name>\" (op of lowercase letters, digits and '_'; name without '/', '\\' or spaces), e.g. max_pool2d/ties-1a2b3c4d");
        var received = ReceivedPath(id);
        if (!File.Exists(received)) return false;
        if (!TryLoad(received, out _, out var reason)) throw new CaseFormatException(received, reason);
        File.Move(received, VerifiedPath(id), overwrite: true);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="text"/> as UTF-8 to a temporary name beside <paramref name="path"/>, flushed to
    /// disk, and renames it into place: a reader sees the old file or the new one, never part of one, and
    /// nothing is left behind when the write fails. Open on CI: the store's own writes refuse CI themselves.
    /// </summary>
    public static void WriteAtomically(string path, string text)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(Utf8NoBom.GetBytes(text));
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private static void RefuseOnCi()
    {
        if (IsCi) throw new InvalidOperationException("CI=true: nothing is written into reference-cases on CI; accept received files on a developer machine");
    }
}
