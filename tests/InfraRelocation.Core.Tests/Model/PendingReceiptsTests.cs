using System.Diagnostics;
using System.Text.Json.Nodes;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>
/// A journaled host-change receipt is "interrupted" only when the run that wrote it is gone: a live run's journal (an
/// earlier item of the same pipeline, another terminal) is never recorded as Failed behind its back.
/// </summary>
public sealed class PendingReceiptsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-pending-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static RelocationReceipt Interrupted(string subject) =>
        new ProvisionReceipt { Capability = "infra.vm.provision", Target = subject, Outcome = ReceiptOutcome.Failed, Summary = $"{subject}: interrupted" };

    [Fact]
    public void AJournalOfThisLiveProcess_IsNotPending_AndIsNotRecorded()
    {
        PendingReceipts.Write(_root, Interrupted("app-core"));
        var store = new ReceiptStore(Path.Combine(_root, "receipts"));

        Assert.Empty(PendingReceipts.Pending(_root));
        Assert.Empty(PendingReceipts.Complete(_root, store));
        Assert.Empty(PendingReceipts.Notices(_root));
    }

    [Fact]
    public void AJournalOfAProcessThatExited_IsPending_AndRecordedOnce()
    {
        var path = PendingReceipts.Write(_root, Interrupted("app-core"));
        SetOwnerPid(path, ExitedPid());
        var store = new ReceiptStore(Path.Combine(_root, "receipts"));

        Assert.Single(PendingReceipts.Pending(_root));
        var recorded = Assert.Single(PendingReceipts.Complete(_root, store));
        Assert.Equal("app-core: interrupted", recorded.Summary);
        Assert.Empty(PendingReceipts.Pending(_root));
    }

    [Fact]
    public void AJournalWithoutAnOwner_WrittenBeforeOwnersWereRecorded_IsPending()
    {
        var path = PendingReceipts.Write(_root, Interrupted("app-web"));
        var entry = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var key in entry.Select(p => p.Key).Where(k => k.StartsWith("owner", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            entry.Remove(key);
        }
        File.WriteAllText(path, entry.ToJsonString());

        Assert.Single(PendingReceipts.Pending(_root));
    }

    private static void SetOwnerPid(string path, int pid)
    {
        var entry = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var key = entry.Select(p => p.Key).Single(k => k.Equals("ownerPid", StringComparison.OrdinalIgnoreCase));
        entry[key] = pid;
        File.WriteAllText(path, entry.ToJsonString());
    }

    private static int ExitedPid()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
