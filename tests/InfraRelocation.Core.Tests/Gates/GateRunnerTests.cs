using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Tests.Gates;

public class GateRunnerTests
{
    private static readonly GateOptions At = new() { Now = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero) };

    [Fact]
    public void RunsEveryGateInOrderAndPassesOnAConsistentEstate()
    {
        var results = GateRunner.Run(new EstateBuilder().Build(), At);
        Assert.Equal(GateRunner.AllGates, results.Select(r => r.GateId));
        Assert.All(results, r => Assert.True(r.Passed, string.Join("\n", r.Findings)));
        Assert.Equal(GateExitCode.Pass, GateRunner.ExitCodeFor(results));
    }

    [Fact]
    public void SchemaFindingsFailTheSchemaGate()
    {
        var b = new EstateBuilder();
        b.Validation.Add(new RelocationFinding { RuleId = "SCHEMA.Required", Severity = FindingSeverity.Error, Message = "x", Location = new SourceLocation("f", 1, 1) });
        var results = GateRunner.Run(b.Build(), At);
        Assert.False(results[0].Passed);
        Assert.Equal(GateExitCode.Findings, GateRunner.ExitCodeFor(results));
    }

    [Fact]
    public void UnknownGateIsAnError()
    {
        var ex = Assert.Throws<RelocationException>(() => GateRunner.Run(new EstateBuilder().Build(), At, ["D99"]));
        Assert.Equal("UnknownGate", ex.ErrorId);
    }
}
