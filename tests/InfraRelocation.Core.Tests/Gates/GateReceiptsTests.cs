using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Gates;

public class GateReceiptsTests
{
    private static readonly GateOptions At = new() { Now = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero) };

    private static RelocationFinding Finding(string rule, FindingSeverity severity) =>
        new() { RuleId = rule, Severity = severity, Message = rule, Location = new SourceLocation("ops/x.yaml", 3, 5) };

    [Fact]
    public void GatesThatPassGiveAPassedReceiptWithExitCodeZeroAndTheRelocationTheyJudged()
    {
        using var sample = new SampleCopy();
        var estate = sample.Load();
        var results = GateRunner.Run(estate, At, [GateIds.Schema]);
        Assert.True(results[0].Passed, string.Join("\n", results[0].Findings));

        var receipt = GateReceipts.Of(results, estate.Manifest);
        Assert.Equal(ReceiptOutcome.Passed, receipt.Outcome);
        Assert.Equal(GateExitCode.Pass, receipt.ExitCode);
        Assert.Equal("SCHEMA pass: 0 error(s), 0 warning(s)", receipt.Summary);
        Assert.Equal(estate.Manifest!.ActiveRelocation!.ChangeId, receipt.ChangeId);
        Assert.Equal("preflight", receipt.State);
        Assert.Same(results, receipt.Results);
        Assert.Empty(receipt.Findings);
    }

    [Fact]
    public void AnyFailedGateFailsTheReceiptAndItsFindingsAreCountedInOrder()
    {
        var d35 = new GateResult { GateId = GateIds.Parity, Passed = false, Findings = [Finding("D35.a", FindingSeverity.Error), Finding("D35.b", FindingSeverity.Warning)] };
        var d37 = new GateResult { GateId = GateIds.Placement, Passed = true, Findings = [Finding("D37.c", FindingSeverity.Warning)] };

        var receipt = GateReceipts.Of([d35, d37], manifest: null);
        Assert.Equal(ReceiptOutcome.Failed, receipt.Outcome);
        Assert.Equal(GateExitCode.Findings, receipt.ExitCode);
        Assert.Equal("D35 FAIL, D37 pass: 1 error(s), 2 warning(s)", receipt.Summary);
        Assert.Equal(["D35.a", "D35.b", "D37.c"], receipt.Findings.Select(f => f.RuleId));
        Assert.Null(receipt.ChangeId);
        Assert.Null(receipt.State);
    }

    [Fact]
    public void AnUnreadableEstateFailsTheSchemaGateWithExitCodeTwoAndNamesTheFile()
    {
        var unreadable = Finding("YAML.YamlSyntaxError", FindingSeverity.Error);
        var receipt = GateReceipts.Unreadable(unreadable);
        Assert.Equal(ReceiptOutcome.Failed, receipt.Outcome);
        Assert.Equal(GateExitCode.InvalidInput, receipt.ExitCode);
        Assert.Equal("SCHEMA FAIL: ops/x.yaml cannot be read; no gate ran", receipt.Summary);
        var schema = Assert.Single(receipt.Results);
        Assert.Equal((GateIds.Schema, false, "estate unreadable"), (schema.GateId, schema.Passed, schema.Summary));
        Assert.Equal([unreadable], schema.Findings);
        Assert.Equal([unreadable], receipt.Findings);

        Assert.Equal("SCHEMA FAIL: the estate cannot be read; no gate ran", GateReceipts.Unreadable(unreadable with { Location = null }).Summary);
    }
}
