using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Tests.Model;

public sealed class ReceiptStoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ir-receipts-" + Guid.NewGuid().ToString("n")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private ReceiptStore Store => new(_folder);

    private void AppendRuns(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var run = new RunContext($"infra.test.cap{i % 2}", "Test-Thing", RunMode.Read, "/estate");
            run.RecordInput("ops/bindings/infra.relocation.plan.yaml", new byte[] { (byte)i });
            Store.Append(run.Stamp(new ManifestValidationReceipt
            {
                Outcome = i == 2 ? ReceiptOutcome.Failed : ReceiptOutcome.Passed,
                Summary = $"run {i}",
                Files = ["ops/bindings/infra.relocation.plan.yaml"],
                Findings =
                [
                    new RelocationFinding
                    {
                        RuleId = "SCHEMA.Test", Severity = FindingSeverity.Warning, Message = "m",
                        Location = new SourceLocation("f.yaml", 3, 4),
                    },
                ],
            }));
        }
    }

    private string[] Lines => File.ReadAllLines(Store.LedgerPath);

    [Fact]
    public void SeveralAppendsVerify()
    {
        AppendRuns(5);
        var result = Store.Verify();
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(5, result.ReceiptCount);
    }

    [Fact]
    public void EmptyLedgerVerifies() => Assert.True(Store.Verify().IsValid);

    [Fact]
    public void ReceiptsReadBackAsTheirTypes()
    {
        AppendRuns(3);
        var receipts = Store.ReadAll().ToList();
        Assert.Equal(3, receipts.Count);
        var third = Assert.IsType<ManifestValidationReceipt>(receipts[2]);
        Assert.Equal(ReceiptOutcome.Failed, third.Outcome);
        Assert.Equal(["ops/bindings/infra.relocation.plan.yaml"], third.Files);
        Assert.Equal(new SourceLocation("f.yaml", 3, 4), third.Findings[0].Location);
        Assert.Equal(receipts[1].Hash, third.PreviousHash);
        Assert.Matches("^[0-9a-f]{64}$", third.Hash);
        Assert.Equal(64, third.InputDigests["ops/bindings/infra.relocation.plan.yaml"].Length);
        Assert.Equal(TimeSpan.Zero, third.StartedUtc.Offset);
    }

    [Fact]
    public void EditedReceiptIsDetected()
    {
        AppendRuns(4);
        var lines = Lines;
        lines[1] = lines[1].Replace("\"Outcome\":\"Passed\"", "\"Outcome\":\"Failed\"", StringComparison.Ordinal);
        File.WriteAllLines(Store.LedgerPath, lines);
        var result = Store.Verify();
        Assert.False(result.IsValid);
        Assert.Equal(ReceiptChainBreak.Edited, result.Break);
        Assert.Equal(2, result.BrokenAtLine);
    }

    [Fact]
    public void EditedAndRehashedReceiptBreaksTheNextLink()
    {
        AppendRuns(4);
        var lines = Lines;
        using (var doc = System.Text.Json.JsonDocument.Parse(lines[1]))
        {
            var receipt = doc.RootElement.GetProperty("receipt").GetRawText().Replace("run 1", "run X", StringComparison.Ordinal);
            lines[1] = $"{{\"hash\":\"{Digest.Sha256Hex(receipt)}\",\"type\":\"x\",\"receipt\":{receipt}}}";
        }
        File.WriteAllLines(Store.LedgerPath, lines);
        var result = Store.Verify();
        Assert.False(result.IsValid);
        Assert.Equal(3, result.BrokenAtLine);
    }

    [Fact]
    public void RemovedReceiptIsDetected()
    {
        AppendRuns(4);
        File.WriteAllLines(Store.LedgerPath, Lines.Where((_, i) => i != 2));
        var result = Store.Verify();
        Assert.False(result.IsValid);
        Assert.Equal(ReceiptChainBreak.Removed, result.Break);
        Assert.Equal(3, result.BrokenAtLine);
    }

    [Fact]
    public void RemovedFirstReceiptIsDetected()
    {
        AppendRuns(3);
        File.WriteAllLines(Store.LedgerPath, Lines.Skip(1));
        var result = Store.Verify();
        Assert.Equal(ReceiptChainBreak.Removed, result.Break);
        Assert.Equal(1, result.BrokenAtLine);
    }

    [Fact]
    public void ReorderedReceiptsAreDetected()
    {
        AppendRuns(4);
        var lines = Lines;
        (lines[1], lines[2]) = (lines[2], lines[1]);
        File.WriteAllLines(Store.LedgerPath, lines);
        var result = Store.Verify();
        Assert.False(result.IsValid);
        Assert.Equal(ReceiptChainBreak.Reordered, result.Break);
        Assert.Equal(2, result.BrokenAtLine);
    }

    [Fact]
    public void GarbageLineIsReportedWithItsNumber()
    {
        AppendRuns(2);
        File.AppendAllText(Store.LedgerPath, "not json\n");
        var result = Store.Verify();
        Assert.False(result.IsValid);
        Assert.Equal(3, result.BrokenAtLine);
        Assert.Equal(ReceiptChainBreak.Torn, result.Break); // garbage at the very end is a torn write
        Assert.Equal(2, Store.ReadAll().Count());

        AppendRuns(0);
        File.AppendAllText(Store.LedgerPath, File.ReadAllLines(Store.LedgerPath)[0] + "\n"); // a receipt after the garbage
        var ex = Assert.Throws<RelocationException>(() => Store.ReadAll().ToList());
        Assert.Equal("ReceiptLedgerCorrupt", ex.ErrorId);
        Assert.Equal(3, ex.Location!.Line);
        Assert.Equal(ReceiptChainBreak.Edited, Store.Verify().Break);
    }

    [Fact]
    public void AppendsAfterVerificationKeepTheChain()
    {
        AppendRuns(2);
        Assert.True(Store.Verify().IsValid);
        AppendRuns(2);
        Assert.True(Store.Verify().IsValid);
        Assert.Equal(4, Store.ReadAll().Count());
    }
}
