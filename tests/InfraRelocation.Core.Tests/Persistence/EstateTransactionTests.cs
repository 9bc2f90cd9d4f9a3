using System.Text;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Tests.Persistence;

public sealed class EstateTransactionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-tx-").FullName;
    private static readonly string[] Files = ["ops/bindings/a.yaml", "ops/bindings/b.yaml", "docs/governance/c.yaml"];

    public EstateTransactionTests()
    {
        foreach (var f in Files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Full(f))!);
            File.WriteAllBytes(Full(f), Encoding.UTF8.GetBytes($"# {f}\r\nstatus: planned   # keep\r\nother: 'x'\r\n"));
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Full(string rel) => Path.Combine(_root, rel);

    private Dictionary<string, byte[]> Snapshot() => Files.ToDictionary(f => f, f => File.ReadAllBytes(Full(f)));

    private string JournalFolder => Path.Combine(_root, EstateTransaction.JournalFolder);

    private int JournalCount => Directory.Exists(JournalFolder) ? Directory.GetFiles(JournalFolder).Length : 0;

    [Fact]
    public void Commit_WritesEveryFile_AndRemovesTheJournal()
    {
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        using var tx = EstateTransaction.Begin(lease);
        foreach (var f in Files)
        {
            tx.EditYaml(f, [YamlEdit.Set("status", "shadow", expected: "planned")]);
        }
        tx.EditYaml(Files[0], [YamlEdit.Set("other", "y")]); // edits of one file accumulate
        Assert.Contains("-status: planned   # keep", tx.Diff);
        Assert.Contains("+other: 'y'", tx.Diff);
        Assert.Equal("status: planned   # keep", File.ReadAllLines(Full(Files[0]))[1].TrimEnd('\r')); // nothing written yet

        var outcome = tx.Commit();
        Assert.Equal(Files, outcome.Files.Select(f => f.Path));
        Assert.Equal($"# {Files[0]}\r\nstatus: shadow   # keep\r\nother: 'y'\r\n", File.ReadAllText(Full(Files[0])));
        Assert.Equal($"# {Files[2]}\r\nstatus: shadow   # keep\r\nother: 'x'\r\n", File.ReadAllText(Full(Files[2])));
        Assert.Equal(0, JournalCount);
    }

    [Fact]
    public void FailureOnTheSecondFile_RestoresAll()
    {
        var before = Snapshot();
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        using var tx = EstateTransaction.Begin(lease);
        foreach (var f in Files)
        {
            tx.EditYaml(f, [YamlEdit.Set("status", "cutover")]);
        }
        var writes = 0;
        tx.BeforeFileWrite = path =>
        {
            if (++writes == 2)
            {
                throw new IOException("disk full (injected)");
            }
        };
        var ex = Assert.Throws<RelocationException>(() => tx.Commit());
        Assert.Equal("EstateTransactionRolledBack", ex.ErrorId);
        Assert.Contains(Files[1], ex.Message);
        Assert.Contains($"restored {Files[0]}", ex.Message);
        foreach (var f in Files)
        {
            Assert.Equal(before[f], File.ReadAllBytes(Full(f)));
        }
        Assert.Equal(0, JournalCount);
    }

    [Fact]
    public void CrashMidCommit_IsRolledBackByTheNextTransaction()
    {
        var before = Snapshot();
        using (var child = Child.Start(["crash", _root, .. Files]))
        {
            Assert.Equal(137, Child.Finish(child, TimeSpan.FromSeconds(60)).Code);
        }
        Assert.NotEqual(before[Files[0]], File.ReadAllBytes(Full(Files[0]))); // the crash left a half-applied change
        Assert.Equal(1, JournalCount);
        Assert.Single(EstateTransaction.PendingJournals(_root));

        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        Assert.Single(lease.Takeovers); // the crashed process never released its lease
        using var tx = EstateTransaction.Begin(lease);
        var recovery = Assert.Single(tx.Recovered);
        Assert.Equal([Files[0]], recovery.RestoredFiles);
        foreach (var f in Files)
        {
            Assert.Equal(before[f], File.ReadAllBytes(Full(f)));
        }
        Assert.Equal(0, JournalCount);
    }

    [Fact]
    public void Recovery_StopsOnAFileEditedSinceTheCrash()
    {
        using (var child = Child.Start(["crash", _root, .. Files]))
        {
            Assert.Equal(137, Child.Finish(child, TimeSpan.FromSeconds(60)).Code);
        }
        File.AppendAllText(Full(Files[0]), "hand: edit\n");
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        var ex = Assert.Throws<RelocationException>(() => EstateTransaction.Begin(lease));
        Assert.Equal("EstateJournalConflict", ex.ErrorId);
        Assert.Equal(1, JournalCount);
        Assert.EndsWith("hand: edit\n", File.ReadAllText(Full(Files[0])));
    }

    [Fact]
    public void InputChangedAfterTheDecision_WritesNothing()
    {
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        using var tx = EstateTransaction.Begin(lease);
        tx.Read(Files[2]); // a file the decision depends on, not edited
        tx.EditYaml(Files[0], [YamlEdit.Set("status", "cutover")]);
        File.AppendAllText(Full(Files[2]), "# hand edit during the readiness gate\n");
        var before = File.ReadAllBytes(Full(Files[0]));

        var ex = Assert.Throws<RelocationException>(() => tx.Commit());
        Assert.Equal("EstateFileChanged", ex.ErrorId);
        Assert.Equal(Files[2], ex.Target);
        Assert.Equal(before, File.ReadAllBytes(Full(Files[0])));
        Assert.Equal(0, JournalCount);
    }

    [Fact]
    public void NothingChanged_WritesNothing()
    {
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        using var tx = EstateTransaction.Begin(lease);
        var stamp = File.GetLastWriteTimeUtc(Full(Files[0]));
        tx.EditYaml(Files[0], [YamlEdit.Set("status", "planned")]);
        Assert.Equal("", tx.Diff);
        Assert.Empty(tx.Commit().Files);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Full(Files[0])));
    }

    [Fact]
    public void TwoProcesses_ChangingDifferentKeys_BothLand()
    {
        using var first = Child.Start("edit", _root, Files[0], "status", "shadow", "planned", "800", "30000");
        Child.WaitForLine(first, "staged", TimeSpan.FromSeconds(30));
        using var second = Child.Start("edit", _root, Files[0], "other", "z", "x", "0", "30000");
        var a = Child.Finish(first, TimeSpan.FromSeconds(60));
        var b = Child.Finish(second, TimeSpan.FromSeconds(60));
        Assert.True(a.Code == 0, a.Out + a.Err);
        Assert.True(b.Code == 0, b.Out + b.Err);
        Assert.Equal($"# {Files[0]}\r\nstatus: shadow   # keep\r\nother: 'z'\r\n", File.ReadAllText(Full(Files[0])));
    }

    [Fact]
    public void TwoProcesses_ChangingTheSameValue_OneWinsTheOtherIsRefused()
    {
        // Both decided from status = planned; the second re-reads under the lease and its expectation fails.
        using var first = Child.Start("edit", _root, Files[0], "status", "shadow", "planned", "800", "30000");
        Child.WaitForLine(first, "staged", TimeSpan.FromSeconds(30));
        using var second = Child.Start("edit", _root, Files[0], "status", "rolled-back", "planned", "0", "30000");
        var a = Child.Finish(first, TimeSpan.FromSeconds(60));
        var b = Child.Finish(second, TimeSpan.FromSeconds(60));
        Assert.True(a.Code == 0, a.Out + a.Err);
        Assert.Equal(3, b.Code);
        Assert.Contains("EstateValueChanged", b.Out);
        Assert.Contains("'shadow', expected 'planned'", b.Err);
        Assert.Contains("status: shadow   # keep", File.ReadAllText(Full(Files[0])));
    }

    [Fact]
    public void Preview_DiffsWithoutTheLease_AndCannotCommit()
    {
        using var holder = EstateLease.Acquire(_root, "someone else", TimeSpan.Zero);
        using var tx = EstateTransaction.Preview(_root);
        tx.EditYaml(Files[1], [YamlEdit.Set("status", "shadow")]);
        Assert.Contains("+status: shadow   # keep", tx.Diff);
        Assert.Throws<InvalidOperationException>(() => tx.Commit());
        Assert.Empty(EstateTransaction.PendingJournals(_root));
    }

    [Fact]
    public void FourProcesses_IncrementingOneCounter_LoseNoUpdate()
    {
        File.WriteAllText(Full(Files[0]), "# counter\ncounter: 0 # incremented by the helper\n");
        var children = Enumerable.Range(0, 4).Select(_ => Child.Start("inc", _root, Files[0], "10")).ToList();
        foreach (var child in children)
        {
            var (code, stdout, stderr) = Child.Finish(child, TimeSpan.FromSeconds(120));
            Assert.True(code == 0, stdout + stderr);
            child.Dispose();
        }
        Assert.Equal("# counter\ncounter: 40 # incremented by the helper\n", File.ReadAllText(Full(Files[0])));
        Assert.False(File.Exists(Path.Combine(_root, EstateLease.RelativePath)));
    }
}
