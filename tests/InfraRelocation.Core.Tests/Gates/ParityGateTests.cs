using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

public class ParityGateTests
{
    private static RelocationFinding Single(EstateBuilder b, string rule)
    {
        var result = ParityGate.Evaluate(b.Build());
        var matches = result.Findings.Where(f => f.RuleId == rule).ToList();
        Assert.True(matches.Count == 1, $"expected one {rule}, got: {string.Join(" | ", result.Findings)}");
        return matches[0];
    }

    [Fact]
    public void ConsistentEstatePasses()
    {
        var result = ParityGate.Evaluate(new EstateBuilder().Build());
        Assert.True(result.Passed, string.Join("\n", result.Findings));
        Assert.Empty(result.Findings);
        Assert.Equal(1, result.Checked);
    }

    [Theory]
    [InlineData(RelocationState.Planning)]
    [InlineData(RelocationState.Complete)]
    public void InactiveStatesCheckNothing(RelocationState state)
    {
        var b = new EstateBuilder();
        b.Active = b.Active! with { State = state, StateText = state.ToString().ToLowerInvariant() };
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "elsewhere" };
        var result = ParityGate.Evaluate(b.Build());
        Assert.True(result.Passed);
        Assert.Contains("not active", result.Summary);
    }

    [Fact]
    public void NoActiveRelocationPasses()
    {
        var b = new EstateBuilder { Active = null };
        Assert.True(ParityGate.Evaluate(b.Build()).Passed);
    }

    [Fact]
    public void UnknownStateFailsAtItsLocation()
    {
        var b = new EstateBuilder();
        b.Active = b.Active! with { State = null, StateText = "cutovr" };
        var f = Single(b, "D35.StateUnknown");
        Assert.Equal(b.Active.LocationOf("state"), f.Location);
    }

    [Fact]
    public void MissingManifestFails()
    {
        var b = new EstateBuilder { WithManifest = false };
        Assert.False(ParityGate.Evaluate(b.Build()).Passed);
        Single(b, "D35.ManifestMissing");
    }

    [Fact]
    public void RegistryHostMismatchNamesBothSides()
    {
        var b = new EstateBuilder();
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "docker-host" };
        var f = Single(b, "D35.RegistryHostMismatch");
        Assert.Equal(FindingSeverity.Error, f.Severity);
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(b.Registry["wiki"].LocationOf("host"), f.RelatedLocation);
        Assert.Equal("app-core", f.Expected);
        Assert.Equal("docker-host", f.Actual);
        Assert.Contains($"the manifest says to_host: app-core at {b.Wiki.LocationOf("to_host")}", f.Message);
        Assert.Contains($"while the service registry says docker-host at {b.Registry["wiki"].LocationOf("host")}", f.Message);
    }

    [Fact]
    public void RegistryEntryMissingFails()
    {
        var b = new EstateBuilder();
        b.Registry.Remove("wiki");
        var f = Single(b, "D35.RegistryEntryMissing");
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(EstateBuilder.RegistryFile, f.RelatedLocation!.File);
    }

    [Fact]
    public void RegistryHostNullFails()
    {
        var b = new EstateBuilder();
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = null };
        var f = Single(b, "D35.RegistryHostMissing");
        Assert.Equal(b.Registry["wiki"].LocationOf("host"), f.RelatedLocation);
    }

    [Fact]
    public void SshTargetMissingFails()
    {
        var b = new EstateBuilder();
        b.SshTargets.RemoveAll(t => t.Id == "app-core");
        var f = Single(b, "D35.SshTargetMissing");
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(EstateBuilder.SshFile, f.RelatedLocation!.File);
    }

    [Fact]
    public void SshTargetWithoutAddressWarns()
    {
        var b = new EstateBuilder();
        var i = b.SshTargets.FindIndex(t => t.Id == "app-core");
        b.SshTargets[i] = b.SshTargets[i] with { Host = null };
        var result = ParityGate.Evaluate(b.Build());
        Assert.True(result.Passed);
        var f = Assert.Single(result.Findings, x => x.RuleId == "D35.SshTargetNoAddress");
        Assert.Equal(FindingSeverity.Warning, f.Severity);
        Assert.Equal(b.SshTargets[i].LocationOf("host"), f.RelatedLocation);
    }

    [Fact]
    public void ToHostMissingFails()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { ToHost = null };
        Single(b, "D35.ToHostMissing");
    }

    [Fact]
    public void MissingStatusIsNeverPlanned()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { Status = null, StatusText = null };
        var f = Single(b, "D35.StatusInvalid");
        Assert.Equal(b.Wiki.LocationOf("status"), f.Location);
    }

    [Fact]
    public void RolledBackServiceMustBeRegisteredOnRollbackTarget()
    {
        // The reference demanded to_host here (and rollback_to in its placement check): one rule now.
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { Status = ServiceStatus.RolledBack, StatusText = "rolled-back" };
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "dr-box" };
        b.Health[0] = b.Health[0] with { Host = "dr-box" };
        b.Stacks[0] = b.Stacks[0] with { DeployTarget = "host:dr-box" };
        var result = ParityGate.Evaluate(b.Build());
        Assert.True(result.Passed, string.Join("\n", result.Findings));

        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "app-core" };
        var f = Single(b, "D35.RegistryHostMismatch");
        Assert.Equal(b.Wiki.LocationOf("rollback_to"), f.Location);
        Assert.Equal("dr-box", f.Expected);
    }

    [Fact]
    public void RolledBackWithoutTargetFails()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { Status = ServiceStatus.RolledBack, StatusText = "rolled-back", RollbackTo = null };
        Single(b, "D35.RollbackTargetMissing");
    }

    [Theory]
    [InlineData(ServiceStatus.Shadow)]
    [InlineData(ServiceStatus.Applied)]
    [InlineData(ServiceStatus.Migrated)]
    [InlineData(ServiceStatus.Complete)]
    public void EveryStatusPastPlannedIsChecked(ServiceStatus status)
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { Status = status };
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "legacy-box" };
        Single(b, "D35.RegistryHostMismatch");
    }

    [Fact]
    public void PlannedServicesAreNotChecked()
    {
        var b = new EstateBuilder();
        // chat is planned and registered on legacy-box while to_host is app-core.
        Assert.DoesNotContain(ParityGate.Evaluate(b.Build()).Findings, f => f.Subject == "chat");
    }

    [Fact]
    public void RequiredUpdateMissingFails()
    {
        var b = new EstateBuilder();
        b.RequiredUpdates.Add(EstateBuilder.At(new RequiredUpdate { Path = "docs/governance/NOPE.yaml" }, EstateBuilder.ManifestFile, "path"));
        var f = Single(b, "D35.RequiredUpdateMissing");
        Assert.Equal(b.RequiredUpdates[0].Location, f.Location);
    }

    [Fact]
    public void MissingRegistryAndSshFilesFail()
    {
        var b = new EstateBuilder { WithRegistry = false, WithSsh = false };
        var result = ParityGate.Evaluate(b.Build());
        Assert.Contains(result.Findings, f => f.RuleId == "D35.ServiceRegistryMissing");
        Assert.Contains(result.Findings, f => f.RuleId == "D35.SshTargetsMissing");
        Assert.False(result.Passed);
    }

    [Fact]
    public void StackDeployTargetMismatchNamesBothSides()
    {
        var b = new EstateBuilder();
        b.Stacks[0] = b.Stacks[0] with { DeployTarget = "proxmox:vm-120" };
        var f = Single(b, "D35.StackTargetMismatch");
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(b.Stacks[0].LocationOf("deploy_target"), f.RelatedLocation);
        Assert.Equal("proxmox:vm-231", f.Expected);
    }

    [Fact]
    public void StackEntryMissingWarns()
    {
        var b = new EstateBuilder();
        b.Stacks.Clear();
        var result = ParityGate.Evaluate(b.Build());
        Assert.True(result.Passed);
        Assert.Contains(result.Findings, f => f.RuleId == "D35.StackEntryMissing" && f.Severity == FindingSeverity.Warning);
    }

    [Fact]
    public void UndocumentedDeviceFails()
    {
        var b = new EstateBuilder();
        b.Devices.RemoveAll(d => d.Hostname == "app-core");
        var f = Single(b, "D35.DeviceUndocumented");
        Assert.Equal(EstateBuilder.DeviceFile, f.RelatedLocation!.File);
    }

    [Fact]
    public void DeviceAddressMismatchNamesBothSides()
    {
        var b = new EstateBuilder();
        b.Devices[0] = b.Devices[0] with { Addresses = ["100.64.99.99"] };
        var f = Single(b, "D35.DeviceAddressMismatch");
        Assert.Equal(b.Devices[0].Location, f.RelatedLocation);
        Assert.Contains(b.Vms[0].LocationOf("tailscale_ip")!.ToString(), f.Message);
    }

    [Fact]
    public void HealthHostMismatchNamesBothSides()
    {
        var b = new EstateBuilder();
        b.Health[0] = b.Health[0] with { Host = "legacy-box" };
        var f = Single(b, "D35.HealthHostMismatch");
        Assert.Equal(b.Health[0].LocationOf("host"), f.RelatedLocation);
        Assert.Equal("legacy-box", f.Actual);
    }

    [Fact]
    public void HealthEndpointMissingFailsWhenTheManifestDeclaresAUrl()
    {
        var b = new EstateBuilder();
        b.Health.Clear();
        Single(b, "D35.HealthEndpointMissing");
    }

    [Fact]
    public void BackupNotInventoriedFails()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { BackupTarget = "backup-nas:/vol/other/wiki" };
        var f = Single(b, "D35.BackupNotInventoried");
        Assert.Equal(EstateBuilder.BackupFile, f.RelatedLocation!.File);
    }

    [Fact]
    public void BackupBelowAnInventoriedBasePathIsAccepted()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { BackupTarget = "backup-nas:/vol/backups/wiki/daily" };
        Assert.True(ParityGate.Evaluate(b.Build()).Passed);
    }

    [Fact]
    public void DisabledBackupFails()
    {
        var b = new EstateBuilder();
        b.Backups[0] = b.Backups[0] with { Enabled = false };
        var f = Single(b, "D35.BackupDisabled");
        Assert.Equal(b.Backups[0].Location, f.RelatedLocation);
    }

    [Fact]
    public void MissingOptionalSurfaceFilesWarnOnce()
    {
        var b = new EstateBuilder { WithStacks = false, WithDevices = false, WithHealth = false, WithBackups = false };
        var result = ParityGate.Evaluate(b.Build());
        Assert.True(result.Passed);
        Assert.Equal(4, result.Findings.Count(f => f.RuleId == "D35.SurfaceFileMissing"));
    }

    [Fact]
    public void StackWithoutDeployTargetWarnsAtTheStack()
    {
        var b = new EstateBuilder();
        b.Stacks[0] = b.Stacks[0] with { DeployTarget = null };
        var result = ParityGate.Evaluate(b.Build());
        Assert.True(result.Passed);
        var f = Assert.Single(result.Findings, x => x.RuleId == "D35.StackTargetMissing");
        Assert.Equal(FindingSeverity.Warning, f.Severity);
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(b.Stacks[0].LocationOf("deploy_target"), f.RelatedLocation);
    }

    [Fact]
    public void ToHostMissingIsLocatedAtTheService()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { ToHost = null };
        var f = Single(b, "D35.ToHostMissing");
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal("wiki", f.Subject);
    }

    [Fact]
    public void AssumedStateChecksAsTheTargetStateWould()
    {
        var b = new EstateBuilder();
        b.Active = b.Active! with { State = RelocationState.Planning, StateText = "planning" };
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "legacy-box" };
        Assert.True(ParityGate.Evaluate(b.Build()).Passed);
        var result = ParityGate.Evaluate(b.Build(), new GateOptions { AssumedState = RelocationState.Preflight });
        Assert.Contains(result.Findings, f => f.RuleId == "D35.RegistryHostMismatch");
    }
}
