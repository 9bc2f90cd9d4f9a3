using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Tests.Gates;

/// <summary>The repository's own sample estate (ops/) passes every gate as loaded by the real loader.</summary>
public class SampleEstateGateTests
{
    [Fact]
    public void SampleEstatePassesEveryGate()
    {
        var estate = EstateLoader.Load(EstateLayoutLoader.Load(TestEstate.RepoRoot));
        var results = GateRunner.Run(estate, new GateOptions { Now = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero) });
        Assert.All(results, r => Assert.True(r.Passed, r.GateId + ": " + string.Join("\n", r.Findings)));
    }

    [Fact]
    public void SampleEstateHasARollbackPlan()
    {
        var estate = EstateLoader.Load(EstateLayoutLoader.Load(TestEstate.RepoRoot));
        var plan = RollbackPlanner.Plan(estate);
        Assert.Empty(plan.Errors);
    }
}
