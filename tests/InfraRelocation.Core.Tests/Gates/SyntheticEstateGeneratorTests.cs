using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.SyntheticEstate;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Tests.Gates;

public class SyntheticEstateGeneratorTests
{
    private static IReadOnlyList<GateResult> Generate(int services, int vms, int broken)
    {
        var root = Path.Combine(Path.GetTempPath(), "ir-synth-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            SyntheticEstateGenerator.Write(root, new SyntheticEstateOptions { Services = services, Vms = vms, Inconsistencies = broken });
            return GateRunner.Run(EstateLoader.Load(EstateLayoutLoader.Load(root)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ConsistentEstatePassesEveryGate()
    {
        var results = Generate(200, 40, 0);
        Assert.All(results, r => Assert.True(r.Passed, r.GateId + ": " + string.Join("\n", r.Findings.Take(5))));
        Assert.All(results, r => Assert.DoesNotContain(r.Findings, f => f.Severity == FindingSeverity.Warning));
    }

    [Fact]
    public void EachInjectedInconsistencyIsOneError()
    {
        var results = Generate(200, 40, 10);
        var errors = results.SelectMany(r => r.Findings).Where(f => f.Severity == FindingSeverity.Error).ToList();
        Assert.Equal(10, errors.Count);
        Assert.Equal(SyntheticEstateGenerator.InjectedRules.Order(), errors.Select(e => e.RuleId).Distinct().Order());
        Assert.All(errors, e => Assert.NotNull(e.Location));
    }
}
