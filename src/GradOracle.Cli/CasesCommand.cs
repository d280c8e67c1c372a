using System.CommandLine;
using GradOracle.Cases;
using GradOracle.Torch;
using Spectre.Console;

namespace GradOracle.Cli;

/// <summary>`gradoracle cases generate | accept | verify`: the golden reference set and its snapshot workflow.</summary>
internal static class CasesCommand
{
    public static Command Create()
    {
        var dir = new Option<string?>("--dir") { Description = "The reference-cases directory (default: the checkout's)." };
        var generate = new Command("generate", "Write the reference set deterministically; refuses cases that finite differences, invariants or libtorch disagree with.") { dir };
        generate.SetAction(p => Store(p.GetValue(dir), mustExist: false) is { } store ? Generate(store) : 2);

        var id = new Argument<string?>("case-id") { Description = "The case to accept, e.g. max_pool2d/ties-1a2b3c4d.", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Accept every received file." };
        var accept = new Command("accept", "Promote received files to verified (never automatic; refused on CI).") { id, all, dir };
        accept.SetAction(p => Store(p.GetValue(dir), mustExist: true) is { } store ? Accept(store, p.GetValue(id), p.GetValue(all)) : 2);

        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the libtorch cross-check (libtorch is then not loaded)." };
        var verify = new Command("verify", "Check the committed set: format, unique ids, oracle, finite differences, invariants, libtorch.") { dir, noTorch };
        verify.SetAction(p => Store(p.GetValue(dir), mustExist: true) is { } store ? Verify(store, p.GetValue(dir), p.GetValue(noTorch)) : 2);

        return new Command("cases", "Golden reference cases in reference-cases/.") { generate, accept, verify };
    }

    /// <summary>The store of --dir or of the checkout; null (a usage error, said on stderr) when there is none to read.</summary>
    private static CaseStore? Store(string? dir, bool mustExist)
    {
        const string Rule = "the reference-cases directory holds one <op>/<name>.json per case";
        try
        {
            var store = dir is null ? CaseStore.FindFromCheckout() : new CaseStore(dir);
            if (mustExist && !Directory.Exists(store.Root))
            {
                Console.Error.WriteLine($"{Named(store, dir)}: {(File.Exists(store.Root) ? "is a file, not a directory" : "no such directory")} ({Rule})");
                return null;
            }
            return store;
        }
        catch (DirectoryNotFoundException e) { Console.Error.WriteLine(e.Message); }
        catch (Exception e) when (e is ArgumentException or IOException) { Console.Error.WriteLine($"--dir {dir}: not a usable path ({e.Message})"); }
        return null;
    }

    private static int Generate(CaseStore store)
    {
        var console = Output.Console();
        if (CaseStore.IsCi) { console.MarkupLine("[red]CI=true: cases generate writes into reference-cases and is refused on CI[/]"); return 2; }
        var torch = TorchCrossCheck.IfAvailable();
        if (torch is null)
        {
            console.WriteLine($"cases generate needs libtorch to cross-check every case: {TorchBridge.Availability.Message}");
            return 3;
        }
        var (cases, refused) = CaseGenerator.Generate(torch);
        foreach (var r in refused) console.WriteLine($"refused {r.Message}");
        if (refused.Count > 0) { console.MarkupLine($"[red]{refused.Count} case(s) refused; nothing written[/]"); return 1; }
        var keep = cases.Select(c => store.VerifiedPath(c.Id)).ToHashSet();
        int written = 0;
        foreach (var c in cases)
        {
            var text = CaseFile.Write(c);
            var path = store.VerifiedPath(c.Id);
            if (File.Exists(path) && CaseFile.SameCase(File.ReadAllText(path), text)) continue;
            CaseStore.WriteAtomically(path, text);
            written++;
        }
        var stale = store.VerifiedFiles().Where(f => !keep.Contains(f)).ToList();
        foreach (var f in stale) File.Delete(f);
        console.WriteLine($"{cases.Count} cases ({written} written, {cases.Count - written} unchanged, {stale.Count} stale removed) in {store.Root}; libtorch {torch.Version}");
        return 0;
    }

    private static int Accept(CaseStore store, string? id, bool all)
    {
        var console = Output.Console();
        if (CaseStore.IsCi) { console.MarkupLine("[red]CI=true: nothing is accepted on CI[/]"); return 2; }
        if (all == (id is not null)) { console.WriteLine("give one case id or --all"); return 2; }
        var ids = all ? store.ReceivedFiles().Select(store.IdOf).ToList() : [id!];
        int accepted = 0;
        foreach (var i in ids)
        {
            try
            {
                if (store.Accept(i)) { accepted++; console.WriteLine($"accepted {i}"); }
                else console.WriteLine($"no received file for {i} ({store.ReceivedPath(i)})");
            }
            catch (ParameterException e) { Console.Error.WriteLine(e.Message); return 2; }
            catch (Exception e) when (e is CaseFormatException or IOException or UnauthorizedAccessException) { console.WriteLine(Printable($"not accepted {i}: {e.Message}")); }
        }
        console.WriteLine($"{accepted} accepted");
        return accepted == ids.Count ? 0 : 1;
    }

    /// <summary>How a usage error names the directory: as the user gave it, or as the checkout's.</summary>
    private static string Named(CaseStore store, string? dir) => dir is null ? $"{store.Root} (the checkout's; --dir names another)" : $"--dir {dir}";

    private static int Verify(CaseStore store, string? dir, bool noTorch)
    {
        if (store.VerifiedFiles().Count == 0)
        {
            Console.Error.WriteLine($"{Named(store, dir)}: holds no case files (<op>/<name>.json); nothing to verify");
            return 2;
        }
        var console = Output.Console();
        var torch = noTorch ? null : TorchCrossCheck.IfAvailable();
        console.WriteLine(noTorch ? "libtorch: skipped (--no-torch)" : torch is null ? TorchBridge.Availability.Message : $"{TorchBridge.Availability.Message}; it cross-checks the oracle");
        var results = CaseVerifier.Verify(store, torch);
        foreach (var r in results.Where(r => !r.Passed))
        {
            console.WriteLine(Printable($"FAIL {r.Id ?? r.Path}"));
            foreach (var p in r.Problems) console.WriteLine(Printable("  " + p));
        }
        int failed = results.Count(r => !r.Passed);
        console.WriteLine($"{results.Count} cases verified in {store.Root}: {results.Count - failed} pass, {failed} fail");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>A file's text quoted in a message, with control characters other than line breaks escaped so that it cannot drive the terminal.</summary>
    private static string Printable(string text) =>
        text.Any(ch => char.IsControl(ch) && ch != '\n')
            ? string.Concat(text.Select(ch => char.IsControl(ch) && ch != '\n' ? $"\\u{(int)ch:x4}" : ch.ToString()))
            : text;
}
