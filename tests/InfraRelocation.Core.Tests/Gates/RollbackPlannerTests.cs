using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

public class RollbackPlannerTests
{
    [Fact]
    public void PlanFollowsTheProtocolOrderWithExactValues()
    {
        var b = new EstateBuilder();
        var plan = RollbackPlanner.Plan(b.Build());
        Assert.Empty(plan.Errors);
        Assert.All(plan.Steps, s => Assert.Equal("wiki", s.Service));
        Assert.Equal(Enumerable.Range(1, plan.Steps.Count), plan.Steps.Select(s => s.Order));
        var kinds = plan.Steps.Select(s => s.Kind).ToList();
        Assert.Equal(RollbackStepKind.Stop, kinds[0]);
        Assert.Equal(RollbackStepKind.Restore, kinds[1]);
        Assert.Equal(RollbackStepKind.Start, kinds[2]);
        Assert.Equal(RollbackStepKind.Route, kinds[3]);
        Assert.Equal(RollbackStepKind.Document, kinds[^1]);
        Assert.Equal(kinds.OrderBy(k => k), kinds);

        Assert.Equal("app-core", plan.Steps[0].Host);
        Assert.Equal("docker compose -f /opt/stacks/wiki/docker-compose.yml down", plan.Steps[0].Command);
        Assert.Contains("backup-nas:/vol/backups/wiki", plan.Steps[1].Action);
        Assert.Equal("dr-box", plan.Steps[2].Host);

        var registry = Assert.Single(plan.Steps, s => s.Kind == RollbackStepKind.Revert && s.File == EstateBuilder.RegistryFile);
        Assert.Equal(("app-core", "dr-box"), (registry.CurrentValue, registry.RevertTo));
        Assert.Equal(b.Registry["wiki"].LocationOf("host"), registry.Location);
        var status = Assert.Single(plan.Steps, s => s.Kind == RollbackStepKind.Revert && s.File == EstateBuilder.ManifestFile);
        Assert.Equal(("cutover", "rolled-back"), (status.CurrentValue, status.RevertTo));
        Assert.Contains(plan.Steps, s => s.Command == "Invoke-RelocationGate");
        Assert.Equal(24, plan.MaxRollbackWindowHours);
    }

    [Fact]
    public void PlanIsDeterministicAndLatestPhaseFirst()
    {
        var b = new EstateBuilder();
        b.Services[1] = b.Services[1] with { Status = ServiceStatus.Applied, StatusText = "applied" };
        var first = RollbackPlanner.Plan(b.Build());
        var second = RollbackPlanner.Plan(b.Build());
        Assert.Equal(first.Steps, second.Steps);
        Assert.Equal("chat", first.Steps[0].Service); // phase 2 before phase 1
        Assert.Equal("wiki", first.Steps[^1].Service);
    }

    [Fact]
    public void MissingRollbackTargetIsAClearError()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { RollbackTo = null };
        var plan = RollbackPlanner.Plan(b.Build());
        var error = Assert.Single(plan.Errors);
        Assert.Equal("RollbackTargetMissing", error.RuleId);
        Assert.Equal(b.Wiki.LocationOf("rollback_to"), error.Location);
        Assert.Empty(plan.Steps);
    }

    [Fact]
    public void DrViolatingRollbackTargetIsAClearError()
    {
        var b = new EstateBuilder();
        b.ServicePlacement["wiki"] = b.ServicePlacement["wiki"] with { DrSites = ["east"] };
        var plan = RollbackPlanner.Plan(b.Build());
        var error = Assert.Single(plan.Errors);
        Assert.Equal("RollbackTargetViolatesDrPolicy", error.RuleId);
        Assert.Equal(b.Wiki.LocationOf("rollback_to"), error.Location);
        Assert.Equal(b.ServicePlacement["wiki"].LocationOf("dr_sites"), error.RelatedLocation);
    }

    [Fact]
    public void PlannedAndRolledBackServicesNeedNoRollback()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { Status = ServiceStatus.RolledBack, StatusText = "rolled-back" };
        Assert.Empty(RollbackPlanner.Plan(b.Build()).Steps);
    }

    [Fact]
    public void UnknownServiceIsReported()
    {
        Assert.Equal("ServiceNotFound", Assert.Single(RollbackPlanner.Plan(new EstateBuilder().Build(), "nope").Errors).RuleId);
    }
}
