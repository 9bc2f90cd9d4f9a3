using InfraRelocation.Core.Remote;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Remote;

public sealed class ReadinessCheckerTests
{
    private static BackupInventory Inventory(params BackupTarget[] t) => new() { Targets = t };

    [Fact]
    public void BackupBinding_MatchesTheExactVmidToken_NotAPrefix()
    {
        var inv = Inventory(new BackupTarget { Name = "vm-200-big", Glob = "vzdump-qemu-200-*.vma.zst" });
        Assert.Null(ReadinessChecker.BackupBinding(inv, 20));
        Assert.Null(ReadinessChecker.BackupBinding(inv, 0));
        Assert.Equal("vm-200-big", ReadinessChecker.BackupBinding(inv, 200)?.Name);
        Assert.Null(ReadinessChecker.BackupBinding(Inventory(new BackupTarget { Name = "x", Glob = "vzdump-qemu-1200-*" }), 200));
    }

    [Fact]
    public void BackupBinding_IgnoresDisabledTargets_AndMatchesTheNameToo()
    {
        Assert.Null(ReadinessChecker.BackupBinding(Inventory(new BackupTarget { Name = "vm-210-a", Glob = "qemu-210-*", Enabled = false }), 210));
        Assert.NotNull(ReadinessChecker.BackupBinding(Inventory(new BackupTarget { Name = "vm-210-app", Glob = "other" }), 210));
    }
}
