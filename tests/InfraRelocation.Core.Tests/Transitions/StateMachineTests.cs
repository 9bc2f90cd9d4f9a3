using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Transitions;

public class RelocationStateMachineTests
{
    [Theory]
    [InlineData(RelocationState.Planning, RelocationState.Preflight)]
    [InlineData(RelocationState.Preflight, RelocationState.Cutover)]
    [InlineData(RelocationState.Cutover, RelocationState.Cleanup)]
    [InlineData(RelocationState.Cleanup, RelocationState.Complete)]
    public void OneStepForward(RelocationState from, RelocationState to) =>
        Assert.Equal([to], RelocationStateMachine.AllowedNext(from));

    [Fact]
    public void CompleteIsFinal() => Assert.Empty(RelocationStateMachine.AllowedNext(RelocationState.Complete));

    [Fact]
    public void RollbackOnlyFromCutoverAndPreflight()
    {
        Assert.Equal([RelocationState.Preflight], RelocationStateMachine.AllowedRollback(RelocationState.Cutover));
        Assert.Equal([RelocationState.Planning], RelocationStateMachine.AllowedRollback(RelocationState.Preflight));
        Assert.Empty(RelocationStateMachine.AllowedRollback(RelocationState.Cleanup));
        Assert.Empty(RelocationStateMachine.AllowedRollback(RelocationState.Planning));
        Assert.Empty(RelocationStateMachine.AllowedRollback(RelocationState.Complete));
    }

    [Fact]
    public void StatusesAllowedInEachState()
    {
        Assert.Equal([ServiceStatus.Planned], RelocationStateMachine.ServiceStatusesAllowedIn(RelocationState.Planning));
        Assert.Equal([ServiceStatus.Planned, ServiceStatus.Shadow], RelocationStateMachine.ServiceStatusesAllowedIn(RelocationState.Preflight));
    }

    [Theory]
    [InlineData("cutover", RelocationState.Cutover)]
    [InlineData("Cutover", RelocationState.Cutover)]
    [InlineData(" PREFLIGHT ", RelocationState.Preflight)]
    public void ParsesNamesAndYaml(string text, RelocationState expected) => Assert.Equal(expected, RelocationStateMachine.Parse(text));

    [Theory]
    [InlineData("none")]
    [InlineData("2")]
    [InlineData("")]
    public void RejectsUnknown(string text) => Assert.Null(RelocationStateMachine.Parse(text));
}

public class ServiceStatusMachineTests
{
    public static TheoryData<ServiceStatus, ServiceStatus[]> Table => new()
    {
        { ServiceStatus.Planned, [ServiceStatus.Shadow, ServiceStatus.Cutover] },
        { ServiceStatus.Shadow, [ServiceStatus.Cutover, ServiceStatus.RolledBack, ServiceStatus.Planned] },
        { ServiceStatus.Cutover, [ServiceStatus.Migrated, ServiceStatus.Applied, ServiceStatus.RolledBack] },
        { ServiceStatus.Applied, [ServiceStatus.Complete, ServiceStatus.RolledBack] },
        { ServiceStatus.Migrated, [ServiceStatus.Complete, ServiceStatus.RolledBack] },
        { ServiceStatus.RolledBack, [ServiceStatus.Planned] },
        { ServiceStatus.Complete, [] },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void AllowedNextIsTheSharedTable(ServiceStatus from, ServiceStatus[] next)
    {
        Assert.Equal(next, ServiceStatusMachine.AllowedNext(from));
        foreach (var to in Enum.GetValues<ServiceStatus>())
        {
            Assert.Equal(to == from || next.Contains(to), ServiceStatusMachine.IsAllowed(from, to));
        }
    }

    [Fact]
    public void RequiredStatesAndApproval()
    {
        Assert.Null(ServiceStatusMachine.RequiredStates(ServiceStatus.Planned));
        Assert.Equal([RelocationState.Preflight, RelocationState.Cutover, RelocationState.Cleanup], ServiceStatusMachine.RequiredStates(ServiceStatus.Shadow));
        Assert.Equal([RelocationState.Cutover, RelocationState.Cleanup], ServiceStatusMachine.RequiredStates(ServiceStatus.Applied));
        Assert.Equal([RelocationState.Cleanup, RelocationState.Complete], ServiceStatusMachine.RequiredStates(ServiceStatus.Complete));
        Assert.True(ServiceStatusMachine.RequiresApproval(ServiceStatus.RolledBack));
        Assert.False(ServiceStatusMachine.RequiresApproval(ServiceStatus.Shadow));
    }

    [Theory]
    [InlineData("rolled-back", ServiceStatus.RolledBack)]
    [InlineData("RolledBack", ServiceStatus.RolledBack)]
    [InlineData("rolled_back", ServiceStatus.RolledBack)]
    [InlineData("Applied", ServiceStatus.Applied)]
    [InlineData("shadow", ServiceStatus.Shadow)]
    public void ParsesEnumNamesAndYamlSpellings(string text, ServiceStatus expected) => Assert.Equal(expected, ServiceStatusMachine.Parse(text));

    [Fact]
    public void YamlSpelling() => Assert.Equal("rolled-back", ServiceStatusMachine.Yaml(ServiceStatus.RolledBack));
}
