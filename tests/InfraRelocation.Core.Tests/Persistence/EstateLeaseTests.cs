using System.Text.Json;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Tests.Persistence;

public sealed class EstateLeaseTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-lease-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string LeaseFile => Path.Combine(_root, EstateLease.RelativePath);

    private void WriteForeignLease(string machine, TimeSpan age, int pid = 4242)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LeaseFile)!);
        var then = DateTime.UtcNow - age;
        File.WriteAllBytes(LeaseFile, JsonSerializer.SerializeToUtf8Bytes(
            new LeaseHolder("carol", pid, then, machine, then, then, "Set-RelocationState", "tok")));
    }

    [Fact]
    public void Acquire_WritesTheHolder_AndDisposeReleases()
    {
        using (var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero))
        {
            var holder = EstateLease.Inspect(_root);
            Assert.NotNull(holder);
            Assert.Equal(Environment.ProcessId, holder.Pid);
            Assert.Equal("test", holder.Purpose);
            Assert.Equal(lease.Holder.Token, holder.Token);
            Assert.Empty(lease.Takeovers);
            lease.Renew();
            lease.EnsureHeld();
        }
        Assert.False(File.Exists(LeaseFile));
    }

    [Fact]
    public void ThreadsOfOneProcess_AreMutuallyExclusive()
    {
        var inside = 0;
        var maxInside = 0;
        Parallel.For(0, 6, _ =>
        {
            for (var i = 0; i < 5; i++)
            {
                using var lease = EstateLease.Acquire(_root, "race", TimeSpan.FromSeconds(30));
                var now = Interlocked.Increment(ref inside);
                lock (this) maxInside = Math.Max(maxInside, now);
                Thread.Sleep(2);
                Interlocked.Decrement(ref inside);
            }
        });
        Assert.Equal(1, maxInside);
    }

    [Fact]
    public void LiveHolderInAnotherProcess_IsBusy_ThenReleases()
    {
        using var child = Child.Start("hold-until-stdin-closes", _root);
        Child.WaitForLine(child, "acquired", TimeSpan.FromSeconds(30));

        var busy = Assert.Throws<RelocationException>(() => EstateLease.Acquire(_root, "test", TimeSpan.FromMilliseconds(200)));
        Assert.Equal("EstateLeaseBusy", busy.ErrorId);
        Assert.Equal(FailureKind.ResourceBusy, busy.Kind);
        Assert.Contains($"pid {child.Id}", busy.Message);

        child.StandardInput.Close(); // the child releases its lease and exits
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.FromSeconds(30));
        Assert.Empty(lease.Takeovers); // the child released it normally
        Assert.Equal(0, Child.Finish(child, TimeSpan.FromSeconds(30)).Code);
    }

    [Fact]
    public void DeadHolder_IsTakenOver_AndReported()
    {
        using var child = Child.Start("hold", _root, "60000");
        Child.WaitForLine(child, "acquired", TimeSpan.FromSeconds(30));
        child.Kill();
        child.WaitForExit();

        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        var takeover = Assert.Single(lease.Takeovers);
        Assert.Equal(child.Id, takeover.Previous!.Pid);
        Assert.Contains("exited", takeover.Reason);
    }

    [Fact]
    public void OtherMachine_IsTakenOverOnlyAfterTheTimeout()
    {
        WriteForeignLease("other-host", TimeSpan.FromMinutes(1));
        var busy = Assert.Throws<RelocationException>(() => EstateLease.Acquire(_root, "test", TimeSpan.Zero));
        Assert.Contains("carol", busy.Message);

        WriteForeignLease("other-host", TimeSpan.FromMinutes(6));
        using var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        Assert.Equal("other-host", Assert.Single(lease.Takeovers).Previous!.Machine);

        // A custom timeout is honoured.
        lease.Dispose();
        WriteForeignLease("other-host", TimeSpan.FromSeconds(30));
        using var quick = EstateLease.Acquire(_root, "test", TimeSpan.Zero, staleAfter: TimeSpan.FromSeconds(10));
        Assert.Single(quick.Takeovers);
    }

    [Fact]
    public void RenewalInTheFuture_BeyondOneLeaseDuration_IsStale_NotAForeverLock()
    {
        // Issue 16.9: a holder whose clock runs ahead writes a renewal time in the future.
        WriteForeignLease("skewed-host", TimeSpan.FromDays(-1));
        using (var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero))
        {
            var takeover = Assert.Single(lease.Takeovers);
            Assert.Equal("skewed-host", takeover.Previous!.Machine);
            Assert.Contains("in the future", takeover.Reason);
            Assert.Contains("clock skew", takeover.Reason);
        }

        // Within one lease duration ahead it is still live (small skews are normal).
        WriteForeignLease("skewed-host", TimeSpan.FromMinutes(-2));
        var busy = Assert.Throws<RelocationException>(() => EstateLease.Acquire(_root, "test", TimeSpan.Zero));
        Assert.Equal("EstateLeaseBusy", busy.ErrorId);
    }

    [Fact]
    public void Waiting_IsCancellable()
    {
        WriteForeignLease("other-host", TimeSpan.Zero);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;
        Assert.ThrowsAny<OperationCanceledException>(() => EstateLease.Acquire(_root, "test", TimeSpan.FromMinutes(1), cts.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void BrokenLease_IsDetectedByItsFormerHolder()
    {
        var lease = EstateLease.Acquire(_root, "test", TimeSpan.Zero);
        WriteForeignLease("other-host", TimeSpan.Zero); // someone broke and replaced it
        var lost = Assert.Throws<RelocationException>(lease.EnsureHeld);
        Assert.Equal("EstateLeaseLost", lost.ErrorId);
        lease.Dispose();
        Assert.True(File.Exists(LeaseFile)); // release does not delete someone else's lease
    }
}
