using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Tests.Persistence;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>Small receipts, reads from the tail, torn tails and the receipt inside the transaction (docs/design/ledger.md).</summary>
public sealed class LedgerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-ledger-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Receipts => Path.Combine(_root, "receipts");

    private ReceiptStore Store => new(Receipts);

    private static RelocationFinding Finding(int i) => new()
    {
        RuleId = i % 3 == 0 ? "D37.VmidOutOfRange" : "D35.RegistryHostMismatch",
        Severity = i % 7 == 0 ? FindingSeverity.Warning : FindingSeverity.Error,
        Message = $"finding {i}: the service registry says host-{i} where the manifest says app-{i}",
        Location = new SourceLocation("ops/bindings/infra.relocation.plan.yaml", i + 1, 5),
        Subject = $"svc-{i:D6}",
    };

    private static GateReceipt Gate(int findings, string? changeId = "CHG-1")
    {
        var all = Enumerable.Range(0, findings).Select(Finding).ToList();
        return new GateReceipt
        {
            Capability = "infra.relocation.gate", Mode = RunMode.Read, Outcome = findings == 0 ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            ChangeId = changeId, Findings = all, EndedUtc = DateTimeOffset.UtcNow,
            Results = [new GateResult { GateId = GateIds.Parity, Passed = findings == 0, Findings = all }],
        };
    }

    [Fact]
    public void AGateReceiptDoesNotGrowWithItsFindings()
    {
        var returned = Store.Append(Gate(14_500));
        var line = File.ReadAllBytes(Store.LedgerPath);
        Assert.True(line.Length < 8 * 1024, $"the ledger line is {line.Length} bytes");
        Assert.Equal(14_500, returned.Findings.Count); // the caller keeps every finding
        var errors = Enumerable.Range(0, 14_500).Count(i => i % 7 != 0);
        Assert.Equal(errors, returned.ErrorCount);

        var read = Assert.IsType<GateReceipt>(Assert.Single(Store.ReadAll()));
        Assert.Equal(ReceiptStore.InlineFindings, read.Findings.Count);
        Assert.Equal(errors, read.ErrorCount);
        Assert.Equal(14_500 - errors, read.WarningCount);
        Assert.Empty(read.Results[0].Findings);
        Assert.Equal(returned.FindingsSha256, read.FindingsSha256);
        Assert.Null(read.FindingsReport);
        Assert.False(Directory.Exists(Path.Combine(Receipts, "reports")));
        Assert.Contains(read.FindingCounts!, c => c is { RuleId: "D37.VmidOutOfRange", Severity: FindingSeverity.Error });
        Assert.True(Store.Verify().IsValid);
    }

    [Fact]
    public void AKeptReportIsContentAddressedAndHoldsEveryFinding()
    {
        var store = new ReceiptStore(Receipts) { KeepReports = true };
        var receipt = store.Append(Gate(500));
        Assert.Equal($"reports/{receipt.FindingsSha256}.json", receipt.FindingsReport);
        var bytes = File.ReadAllBytes(Path.Combine(Receipts, receipt.FindingsReport!));
        Assert.Equal(receipt.FindingsSha256, Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant());
        Assert.Equal(500, JsonSerializer.Deserialize<JsonElement>(bytes).GetArrayLength());
        store.Append(Gate(500)); // the same findings: one file
        Assert.Single(Directory.GetFiles(Path.Combine(Receipts, "reports")));
    }

    [Fact]
    public void FewFindingsStayInline()
    {
        Store.Append(Gate(3));
        var read = Assert.Single(Store.ReadAll());
        Assert.Equal(3, read.Findings.Count);
        Assert.Null(read.FindingCounts);
        Assert.Equal(2, read.ErrorCount);
    }

    [Fact]
    public void ReadingBackwardGivesTheSameLinesAcrossChunkBoundaries()
    {
        for (var i = 0; i < 120; i++)
        {
            Store.Append(Gate(ReceiptStore.InlineFindings)); // ~5 KB each: the file spans many 64 KiB chunks
        }
        var forward = File.ReadAllLines(Store.LedgerPath);
        var backward = ReceiptStore.ReadLinesBackward(Store.LedgerPath).Select(l => l.Text).ToList();
        backward.Reverse();
        Assert.Equal(forward, backward);
        var offsets = ReceiptStore.ReadLinesBackward(Store.LedgerPath).Select(l => l.Offset).Reverse().ToList();
        var expected = new List<long>();
        long at = 0;
        foreach (var l in forward)
        {
            expected.Add(at);
            at += Encoding.UTF8.GetByteCount(l) + 1;
        }
        Assert.Equal(expected, offsets);
    }

    [Fact]
    public void AGuardReadsOnlyTheCurrentRelocationFromTheEnd()
    {
        for (var i = 0; i < 5; i++)
        {
            Store.Append(Gate(0, "CHG-OLD"));
        }
        Store.Append(new ImpactReceipt { Capability = "infra.relocation.impact" }); // names no change id
        Store.Append(Gate(0, "CHG-NEW"));
        Store.Append(Gate(0, "CHG-NEW"));
        var view = LedgerView.Load(Store.LedgerPath);
        var current = view.Relocation("CHG-NEW");
        Assert.Equal(3, current.Count);
        Assert.Equal(0, current[0].Line); // read from the end: no line numbers
        Assert.Equal(["infra.relocation.impact", "infra.relocation.gate", "infra.relocation.gate"], current.Select(e => e.Capability));
        Assert.Equal(8, view.Entries.Count);
    }

    [Fact]
    public void AGuardSeesABrokenChainInTheCurrentRelocation()
    {
        Store.Append(Gate(0, "CHG-OLD"));
        for (var i = 0; i < 4; i++)
        {
            Store.Append(Gate(1, "CHG-NEW"));
        }
        Assert.Null(LedgerView.Load(Store.LedgerPath).ChainProblem("CHG-NEW"));
        Assert.Null(LedgerView.Load(Store.LedgerPath).ChainProblem(null));
        var lines = File.ReadAllLines(Store.LedgerPath);

        // edited without re-hashing
        File.WriteAllLines(Store.LedgerPath, lines.Select((l, i) => i == 2 ? l.Replace("\"Outcome\":\"Failed\"", "\"Outcome\":\"Passed\"") : l));
        Assert.Contains("was edited", LedgerView.Load(Store.LedgerPath).ChainProblem("CHG-NEW"));

        // one removed
        File.WriteAllLines(Store.LedgerPath, lines.Where((_, i) => i != 2));
        Assert.Contains("does not follow", LedgerView.Load(Store.LedgerPath).ChainProblem("CHG-NEW"));

        // a forged receipt appended with a made-up link
        var forged = lines[^1].Replace(lines[^1][9..73], new string('0', 64));
        File.WriteAllLines(Store.LedgerPath, [.. lines, forged]);
        Assert.NotNull(LedgerView.Load(Store.LedgerPath).ChainProblem("CHG-NEW"));

        File.WriteAllLines(Store.LedgerPath, lines);
        Assert.Null(LedgerView.Load(Store.LedgerPath).ChainProblem("CHG-NEW"));
    }

    [Fact]
    public void ALedgerWrittenBeforeReceiptsStoppedGrowingStillVerifies_AndTakesNewReceipts()
    {
        // Fixtures/ledger-bcc7ec3.jsonl: two gate runs of the build before issue 17 (bcc7ec3) on a GateBench estate of
        // 10 services with 12 findings, every one of them inline, and no counts or digest.
        Directory.CreateDirectory(Receipts);
        var recorded = Path.Combine(TestEstate.RepoRoot, "tests", "InfraRelocation.Core.Tests", "Fixtures", "ledger-bcc7ec3.jsonl");
        File.Copy(recorded, Store.LedgerPath);

        var old = Store.ReadAll().Cast<GateReceipt>().ToList();
        Assert.Equal(2, old.Count);
        Assert.All(old, r =>
        {
            Assert.Equal(12, r.Findings.Count);
            Assert.Null(r.FindingCounts);
            Assert.Null(r.FindingsSha256);
            Assert.Equal(12, r.ErrorCount);
        });
        var recordedChain = Store.Verify();
        Assert.True(recordedChain.IsValid, recordedChain.Message);

        Store.Append(Gate(14_500, "CHG-SYNTH"));
        var chain = Store.Verify();
        Assert.True(chain.IsValid, chain.Message);
        Assert.Equal(3, chain.ReceiptCount);
        Assert.Equal(3, LedgerView.Load(Store.LedgerPath).Relocation("CHG-SYNTH").Count);
        Assert.Null(LedgerView.Load(Store.LedgerPath).ChainProblem("CHG-SYNTH"));

        // The old lines are checked, not waved through: one finding edited without re-hashing breaks the chain there.
        var lines = File.ReadAllLines(Store.LedgerPath);
        File.WriteAllLines(Store.LedgerPath, [lines[0].Replace("\"Severity\":\"Error\"", "\"Severity\":\"Warning\""), .. lines[1..]]);
        var edited = Store.Verify();
        Assert.Equal((ReceiptChainBreak.Edited, 1), (edited.Break, edited.BrokenAtLine));
    }

    [Fact]
    public void ATornTailIsReportedByOffset_BlocksAppends_AndIsRepairedKeepingTheIntactReceipts()
    {
        for (var i = 0; i < 3; i++)
        {
            Store.Append(Gate(1));
        }
        var intact = new FileInfo(Store.LedgerPath).Length;
        File.AppendAllText(Store.LedgerPath, "{\"hash\":\"abc\",\"type\":\"X\",\"rece"); // a write cut short by a full disk

        var result = Store.Verify();
        Assert.False(result.IsValid);
        Assert.Equal(ReceiptChainBreak.Torn, result.Break);
        Assert.Equal(intact, result.BrokenAtOffset);
        Assert.Equal(3, result.ReceiptCount);
        Assert.Equal(3, Store.ReadAll().Count());
        Assert.Equal(3, LedgerView.Load(Store.LedgerPath).Entries.Count);
        var refused = Assert.Throws<RelocationException>(() => Store.Append(Gate(0)));
        Assert.Equal("ReceiptLedgerTorn", refused.ErrorId);
        Assert.Contains($"byte {intact}", refused.Message);

        var repair = Store.RepairTornTail();
        Assert.NotNull(repair);
        Assert.Equal(intact, repair.Offset);
        Assert.Equal(intact, new FileInfo(Store.LedgerPath).Length);
        Assert.Equal("{\"hash\":\"abc\",\"type\":\"X\",\"rece", File.ReadAllText(repair.SavedAs));
        Assert.True(Store.Verify().IsValid);
        Store.Append(Gate(0));
        Assert.True(Store.Verify().IsValid);
        Assert.Null(Store.RepairTornTail());
    }

    /// <summary>
    /// Issue 16.6: only regular files are read. A FIFO in place of the ledger once blocked every command at its open;
    /// a device node (here a copy of /dev/zero, made with mknod inside the receipts folder) never ends.
    /// </summary>
    [SkippableTheory]
    [InlineData("fifo")]
    [InlineData("device")]
    public void APipeOrADeviceInPlaceOfTheLedgerIsRefused_NeverAHang(string kind)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs and device nodes are checked on Linux");
        Directory.CreateDirectory(Receipts);
        using (var make = System.Diagnostics.Process.Start(kind == "fifo" ? "mkfifo" : "mknod", kind == "fifo" ? [Store.LedgerPath] : [Store.LedgerPath, "c", "1", "5"])!)
        {
            make.WaitForExit();
            Skip.If(make.ExitCode != 0 && kind == "device", "mknod needs root");
            Assert.Equal(0, make.ExitCode);
        }
        var readers = new (string What, Action Read)[]
        {
            ("ReadAll", () => Store.ReadAll().ToList()),
            ("Verify", () => Store.Verify()),
            ("ReadBackward", () => Store.ReadBackward().ToList()),
            ("EnsureWritable", () => Store.EnsureWritable()),
            ("Append", () => Store.Append(Gate(0))),
            ("LedgerView", () => LedgerView.Load(Store.LedgerPath).Entries.ToList()),
        };
        foreach (var (what, read) in readers)
        {
            var run = Task.Run(read);
            try
            {
                Assert.True(run.Wait(TimeSpan.FromSeconds(30)) || run.IsFaulted, $"{what} hung on a {kind} ledger");
            }
            catch (AggregateException)
            {
            }
            finally
            {
                if (!run.IsCompleted && kind == "fifo")
                {
                    File.WriteAllText(Store.LedgerPath, ""); // release the blocked reader
                }
            }
            var ex = Assert.IsType<RelocationException>(run.Exception?.InnerException);
            Assert.Equal("EstateFileNotRegular", ex.ErrorId);
        }
    }

    [Fact]
    public void AGarbageLastLineIsTornToo_ButAnEditedReceiptIsNot()
    {
        Store.Append(Gate(1));
        Store.Append(Gate(1));
        var intact = new FileInfo(Store.LedgerPath).Length;
        File.AppendAllText(Store.LedgerPath, "\0\0\0garbage\n");
        Assert.Equal(intact, Store.FindTornTail()?.Offset);
        Assert.NotNull(Store.RepairTornTail());

        var lines = File.ReadAllLines(Store.LedgerPath);
        lines[0] = lines[0].Replace("\"Outcome\":\"Failed\"", "\"Outcome\":\"Passed\"");
        File.WriteAllLines(Store.LedgerPath, lines);
        Assert.Null(Store.FindTornTail());
        Assert.Null(Store.RepairTornTail());
        Assert.Equal(ReceiptChainBreak.Edited, Store.Verify().Break);
    }

    // ---- the receipt inside the transaction -------------------------------------------------------------------------

    private const string File1 = "ops/bindings/a.yaml";

    private string Full => Path.Combine(_root, File1);

    private void WriteEstate()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Full)!);
        File.WriteAllText(Full, "status: planned # keep\n");
    }

    private static CommitReceipt Receipt(ReceiptStore store, Func<TransactionOutcome, string?>? verify = null) => new()
    {
        Store = store,
        Verify = verify,
        Build = (o, reason) => new ServiceStatusReceipt
        {
            Capability = LedgerView.ServiceCapability, Mode = RunMode.Execute,
            Outcome = reason is null ? ReceiptOutcome.Succeeded : ReceiptOutcome.Reverted, TransactionId = o.TransactionId,
            Files = o.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList(),
            EndedUtc = DateTimeOffset.UtcNow,
        },
    };

    private RecordedCommit CommitStatus(ReceiptStore store, Func<TransactionOutcome, string?>? verify = null)
    {
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        using var tx = EstateTransaction.Begin(lease);
        tx.EditYaml(File1, [YamlEdit.Set("status", "cutover", expected: "planned")]);
        return tx.Commit(Receipt(store, verify));
    }

    [Fact]
    public void ACommitRecordsItsReceiptInTheTransaction()
    {
        WriteEstate();
        var before = ReceiptInvariant.Snapshot(_root, Receipts);
        var recorded = CommitStatus(Store);
        Assert.Equal("status: cutover # keep\n", File.ReadAllText(Full));
        var receipt = Assert.IsType<ServiceStatusReceipt>(Assert.Single(Store.ReadAll()));
        Assert.Equal(recorded.Outcome.TransactionId, receipt.TransactionId);
        Assert.Empty(EstateTransaction.PendingJournals(_root));
        Assert.Empty(ReceiptInvariant.Check(_root, Receipts, before));
    }

    [Fact]
    public void AFailedCheckRestoresTheOriginalsInTheSameTransaction_AndRecordsTheRevert()
    {
        WriteEstate();
        var recorded = CommitStatus(Store, _ => "parity failed after the write");
        Assert.Equal("parity failed after the write", recorded.RevertReason);
        Assert.Equal("status: planned # keep\n", File.ReadAllText(Full));
        Assert.Equal(ReceiptOutcome.Reverted, Assert.Single(Store.ReadAll()).Outcome);
        Assert.Empty(EstateTransaction.PendingJournals(_root));
    }

    [Fact]
    public void ALedgerThatCannotBeWrittenStopsTheChangeBeforeAnythingIsWritten()
    {
        WriteEstate();
        var blocked = Path.Combine(_root, "not-a-folder");
        File.WriteAllText(blocked, "a file where the receipts folder should be");
        var error = Assert.Throws<RelocationException>(() => CommitStatus(new ReceiptStore(blocked)));
        Assert.Equal("ReceiptLedgerUnwritable", error.ErrorId);
        Assert.Equal("status: planned # keep\n", File.ReadAllText(Full));
        Assert.Empty(EstateTransaction.PendingJournals(_root));
    }

    [Fact]
    public void ATornLedgerStopsTheChangeBeforeAnythingIsWritten()
    {
        WriteEstate();
        Store.Append(Gate(0));
        File.AppendAllText(Store.LedgerPath, "{\"hash\":");
        var error = Assert.Throws<RelocationException>(() => CommitStatus(Store));
        Assert.Equal("ReceiptLedgerTorn", error.ErrorId);
        Assert.Equal("status: planned # keep\n", File.ReadAllText(Full));
    }

    [Theory]
    [InlineData("before", "status: planned # keep\n", false)]
    [InlineData("after", "status: receipted # keep\n", true)]
    public void AKillDuringTheCommitIsCompletedByTheNextRun(string phase, string expected, bool forward)
    {
        WriteEstate();
        var before = ReceiptInvariant.Snapshot(_root, Receipts);
        using (var child = Child.Start("receipt", _root, Receipts, File1, phase))
        {
            Child.WaitForLine(child, "at " + phase, TimeSpan.FromMinutes(2));
            child.Kill(); // SIGKILL: no cleanup at all
            child.WaitForExit();
        }
        Assert.Equal("status: receipted # keep\n", File.ReadAllText(Full)); // the crash left the new content
        Assert.Single(EstateTransaction.PendingJournals(_root));
        Assert.Equal(forward ? 1 : 0, Store.ReadAll().Count());

        using (var lease = EstateLease.Acquire(_root, "next run", TimeSpan.FromSeconds(10)))
        {
            var recovery = Assert.Single(EstateTransaction.Recover(lease));
            Assert.Equal(forward, recovery.RolledForward);
        }
        Assert.Equal(expected, File.ReadAllText(Full));
        Assert.Empty(ReceiptInvariant.Check(_root, Receipts, before));
    }

    [Fact]
    public void TheInvariantCheckNamesAChangeWithoutItsReceipt()
    {
        WriteEstate();
        var before = ReceiptInvariant.Snapshot(_root, Receipts);
        File.WriteAllText(Full, "status: hand-edited\n");
        var problem = Assert.Single(ReceiptInvariant.Check(_root, Receipts, before));
        Assert.StartsWith(File1, problem);
    }
}
