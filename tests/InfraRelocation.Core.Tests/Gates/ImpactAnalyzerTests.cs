using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

public class ImpactAnalyzerTests
{
    [Fact]
    public void ConsistentServiceIsSatisfiedOnEverySurface()
    {
        var items = ImpactAnalyzer.Analyze(new EstateBuilder().Build());
        Assert.All(items, i => Assert.Equal("wiki", i.Service));
        Assert.Equal(7, items.Count);
        Assert.All(items, i => Assert.True(i.Satisfied, $"{i.Surface}: {i.CurrentValue} -> {i.RequiredValue}"));
        Assert.Equal(Enum.GetValues<ParitySurface>().Order(), items.Select(i => i.Surface).Order());
    }

    [Fact]
    public void PlannedServicesOnlyOnRequest()
    {
        var b = new EstateBuilder();
        Assert.DoesNotContain(ImpactAnalyzer.Analyze(b.Build()), i => i.Service == "chat");
        var chat = ImpactAnalyzer.Analyze(b.Build(), includePlanned: true).Where(i => i.Service == "chat").ToList();
        var registry = Assert.Single(chat, i => i.Surface == ParitySurface.ServiceRegistry);
        Assert.False(registry.Satisfied);
        Assert.Equal("legacy-box", registry.CurrentValue);
        Assert.Equal("app-core", registry.RequiredValue);
        Assert.Equal("services.chat.host", registry.DocumentPath);
        Assert.Equal(b.Registry["chat"].LocationOf("host"), registry.Location);
        Assert.Equal(EstateBuilder.RegistryFile, registry.File);
    }

    [Fact]
    public void MismatchSaysWhichFileWhereAndFromWhatToWhat()
    {
        var b = new EstateBuilder();
        b.Health[0] = b.Health[0] with { Host = "legacy-box" };
        b.Stacks[0] = b.Stacks[0] with { DeployTarget = "proxmox:vm-120" };
        var items = ImpactAnalyzer.Analyze(b.Build(), service: "wiki");
        var health = Assert.Single(items, i => i.Surface == ParitySurface.HealthBindings);
        Assert.Equal(("legacy-box", "app-core", false), (health.CurrentValue, health.RequiredValue, health.Satisfied));
        Assert.Equal("endpoints[0].host", health.DocumentPath);
        Assert.Equal(b.Health[0].LocationOf("host"), health.Location);
        var stack = Assert.Single(items, i => i.Surface == ParitySurface.StackRegistry);
        Assert.Equal(("proxmox:vm-120", "proxmox:vm-231"), (stack.CurrentValue, stack.RequiredValue));
        Assert.Equal(b.Wiki.LocationOf("to_host"), stack.ManifestLocation);
    }

    [Fact]
    public void PlacementSurfaceShowsThePrimarySite()
    {
        var b = new EstateBuilder();
        b.Wiki = b.Wiki with { ToHost = "dr-box" };
        var placement = Assert.Single(ImpactAnalyzer.Analyze(b.Build()), i => i.Surface == ParitySurface.PlacementPolicy);
        Assert.Equal(("east", "west", false), (placement.CurrentValue, placement.RequiredValue, placement.Satisfied));
    }
}
