using System.Diagnostics;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Tests.Persistence;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Receipts;
using Xunit.Abstractions;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>
/// Issue 16, "Done when": kill -9 at random moments across the mutating transitions (service status, VM target,
/// state, promotion with its automatic revert), each run as TransitionCmdlet runs it (preview, commit under the
/// lease, receipt) by InfraRelocation.CrashHelper's <c>cycle</c> mode on one sample-estate copy. After each kill the
/// next run's recovery (lease + <see cref="EstateTransaction.Begin"/>) must leave: no pending journal, an intact
/// ledger, and every estate file's content either its content before the killed run or the content the last receipt
/// records (so a multi-file change is all there or not at all).
/// </summary>
public sealed class TransitionCrashTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Kills per run: the issue asks for at least 200.</summary>
    private const int Trials = 200;

    /// <summary>
    /// Issues 16.1 and 16.3: the receipt and a promotion's revert are part of the transaction (the helper's <c>cycle</c>
    /// mode records them through <c>TransitionCommitOptions.Receipts/Receipt</c>, as TransitionCmdlet does), so a kill
    /// never leaves a committed change without its receipt: any such gap fails the test. Set to true only to measure
    /// an older design.
    /// </summary>
    private const bool ReceiptNotYetInTransaction = false;

    private readonly SampleCopy _estate = new();

    public void Dispose() => _estate.Dispose();

    [SkippableFact]
    public void KillNineAtRandomMoments_LeavesEveryFileAsBeforeOrAsAReceiptRecords()
    {
        var random = new Random(16);
        var watch = Stopwatch.StartNew();
        var store = new ReceiptStore(_estate.Layout.ReceiptsPath);
        var ops = new Dictionary<string, int>();
        var failures = new List<string>();
        var receiptGaps = new List<string>();
        var phases = new Dictionary<string, int>(); // last line before the kill: begin | committed | receipted
        var opDuration = TimeSpan.FromMilliseconds(100);

        var kills = 0;
        for (var trial = 1; trial <= Trials && watch.Elapsed < TimeSpan.FromMinutes(15); trial++)
        {
            kills = trial;
            var before = Snapshot();
            var ledgerBefore = store.ReadAll().Count();

            using var child = Child.Start("cycle", _estate.Root, (1000 + trial).ToString());
            Child.WaitForLine(child, "ready", TimeSpan.FromSeconds(60));
            var lines = new List<(string Line, TimeSpan At)>();
            var clock = Stopwatch.StartNew();
            var reader = Task.Run(() =>
            {
                string? line;
                while ((line = child.StandardOutput.ReadLine()) is not null)
                {
                    lock (lines) lines.Add((line, clock.Elapsed));
                }
            });
            // Kill at a uniformly random moment of the next few transitions: from the first "begin", a random delay of up
            // to three transitions (their duration measured on this machine), so every phase (decide, journal, write,
            // recover, receipt) is hit in proportion to the time it takes.
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited)
            {
                lock (lines) if (lines.Any(l => l.Line.StartsWith("begin ", StringComparison.Ordinal))) break;
                Thread.Sleep(1);
            }
            Thread.Sleep(TimeSpan.FromMilliseconds(random.NextDouble() * 3 * opDuration.TotalMilliseconds));
            try
            {
                child.Kill(); // SIGKILL: no finally blocks, no flush, no lease release
            }
            catch (InvalidOperationException)
            {
                // exited on its own (a bug in the helper): the checks below still hold
            }
            child.WaitForExit();
            reader.Wait(TimeSpan.FromSeconds(10));
            string[] seen;
            lock (lines)
            {
                seen = [.. lines.Select(l => l.Line)];
                var begins = lines.Where(l => l.Line.StartsWith("begin ", StringComparison.Ordinal)).Select(l => l.At).ToList();
                // Running estimate of one transition's duration on this machine, for the next trial's kill window;
                // killed inside the first transition, the window was too short to tell: widen it.
                opDuration = begins.Count >= 2
                    ? (opDuration * 3 + (begins[^1] - begins[0]) / (begins.Count - 1)) / 4
                    : TimeSpan.FromMilliseconds(Math.Min(opDuration.TotalMilliseconds * 1.25, 10_000));
            }
            foreach (var begin in seen.Where(l => l.StartsWith("begin ", StringComparison.Ordinal)))
            {
                var name = begin[6..].Split(' ')[0];
                ops[name] = ops.GetValueOrDefault(name) + 1;
            }

            // The next run: take the (dead holder's) lease and recover what the killed run left.
            using (var lease = EstateLease.Acquire(_estate.Root, "crash-test recovery", TimeSpan.FromSeconds(30)))
            using (EstateTransaction.Begin(lease))
            {
            }

            var problems = new List<string>();
            if (EstateTransaction.PendingJournals(_estate.Root).Count > 0)
            {
                problems.Add("a journal is still pending after recovery");
            }
            var chain = store.Verify();
            if (!chain.IsValid)
            {
                problems.Add($"ledger chain broken: {chain.Message}");
            }
            var expected = new Dictionary<string, string?>(before);
            foreach (var receipt in store.ReadAll().Skip(ledgerBefore).OfType<TransitionReceipt>())
            {
                foreach (var file in receipt.Files)
                {
                    expected[file.Path] = receipt.Outcome == ReceiptOutcome.Reverted ? file.OldSha256 : file.NewSha256;
                }
            }
            var after = Snapshot();
            var mismatched = expected.Keys.Union(after.Keys)
                .Where(p => expected.GetValueOrDefault(p) != after.GetValueOrDefault(p)).Order(StringComparer.Ordinal).ToList();

            var last = seen.LastOrDefault() ?? "(nothing)";
            if (mismatched.Count > 0 && last.StartsWith("committed ", StringComparison.Ordinal) && problems.Count == 0)
            {
                // Killed after the commit and before its receipt: the gap issue 16.1 closes.
                receiptGaps.Add($"trial {trial} (16.1): {string.Join(", ", mismatched)} changed by transaction {last[10..]} with no receipt");
            }
            else if (mismatched.Count > 0 && last.StartsWith("begin Invoke-RelocationPromotion", StringComparison.Ordinal) && problems.Count == 0)
            {
                // Killed between the promotion's write and its revert (two transactions): the gap issue 16.3 closes.
                receiptGaps.Add($"trial {trial} (16.3): {string.Join(", ", mismatched)} promoted, not reverted, no receipt");
            }
            else if (mismatched.Count > 0 && last.StartsWith("begin ", StringComparison.Ordinal) && problems.Count == 0)
            {
                // No journal was left, so the commit had completed (a kill inside it leaves the journal, and recovery
                // restores the files): killed after the commit (while releasing the lease) and before "committed"
                // was printed. The same gap as above, 16.1.
                receiptGaps.Add($"trial {trial} (16.1, before 'committed' was printed): {string.Join(", ", mismatched)} changed with no receipt");
            }
            else if (mismatched.Count > 0 || problems.Count > 0)
            {
                failures.Add($"trial {trial} (last step '{last}'): " +
                             string.Join("; ", problems.Concat(mismatched.Select(p => $"{p} is neither its content before nor a receipt's"))));
            }
            var phase = last.Split(' ')[0];
            phases[phase] = phases.GetValueOrDefault(phase) + 1;
        }

        // The 15-minute bound keeps a very slow machine inside CI's budget; the figure says how many kills really ran.
        output.WriteLine($"{kills} kill -9 trials (of {Trials}) in {watch.Elapsed.TotalSeconds:0}s; transitions begun: " +
                         string.Join(", ", ops.Select(o => $"{o.Key} {o.Value}")) +
                         $"; last step before the kill: {string.Join(", ", phases.Select(p => $"{p.Key} {p.Value}"))}; failures: {failures.Count}; receipt gaps (16.1/16.3): {receiptGaps.Count}; " +
                         $"mean transition {opDuration.TotalMilliseconds:0} ms; receipts {store.ReadAll().Count()}");
        foreach (var f in failures.Concat(receiptGaps).Take(20))
        {
            output.WriteLine(f);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {kills} kills broke the invariant:\n{string.Join("\n", failures.Take(10))}");
        Assert.True(ops.Count >= 3, "the kills did not reach enough kinds of transition: " + string.Join(", ", ops.Keys));
        // Measured against the kills that ran (the time bound can stop a loaded machine early), not the planned trials.
        // One completion in eight kills: at load 7 to 13 a run saw 46 in 200 (1 in 4 failed it), quiet runs see 70 to 80;
        // the invariant above is what the test proves, this only says the kills reached past the first transition.
        Assert.True(store.ReadAll().Count() >= kills / 8, $"only {store.ReadAll().Count()} transitions completed in {kills} kills: the kills came too early to test much");
        Skip.If(ReceiptNotYetInTransaction && receiptGaps.Count > 0,
            $"Known gaps, issues 16.1/16.3 (receipt and promotion revert not yet part of the transaction): {receiptGaps.Count} of {kills} " +
            $"kills left a committed change without its receipt; no other failure. First: {receiptGaps.FirstOrDefault()}");
        Assert.Empty(receiptGaps);
    }

    /// <summary>SHA-256 of every estate file (the protocol files under ops/; not the ledger or the tool's own state).</summary>
    private Dictionary<string, string?> Snapshot() =>
        Directory.EnumerateFiles(Path.Combine(_estate.Root, "ops"), "*", SearchOption.AllDirectories)
            .Where(p => !AtomicFile.IsTempFile(p))
            .ToDictionary(p => Path.GetRelativePath(_estate.Root, p).Replace('\\', '/'),
                p => (string?)Digest.Sha256Hex(File.ReadAllBytes(p)), StringComparer.Ordinal);
}
