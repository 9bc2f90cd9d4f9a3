using System.Collections.Concurrent;
using System.Management.Automation;
using InfraRelocation.Core.Remote;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// The one way work on worker threads reaches the pipeline: the work posts progress, verbose lines and objects,
/// and only the cmdlet's own thread writes them (PowerShell refuses writes from other threads). A cmdlet owns one
/// (composition: a gate cmdlet with a live probe uses it as a remote cmdlet does). It writes through the
/// cmdlet's own writers, so every text and object passes the secret mask.
/// </summary>
public sealed class PipelinePump(RelocationCmdlet cmdlet) : IDisposable
{
    private readonly BlockingCollection<object> _messages = new();

    /// <summary>Queues an object, or a <see cref="ProgressRecord"/> of the work's own, for the pipeline thread (callable from any thread).</summary>
    public void Post(object item) => _messages.Add(item);

    /// <summary>Queues a verbose line for the pipeline thread (callable from any thread).</summary>
    public void Verbose(string line) => _messages.Add(new VerboseLine(line));

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool and, until it ends, writes what it posts from this thread.
    /// Returns the finished task (its failure is the caller's to report); Ctrl+C becomes PipelineStoppedException.
    /// However the pipeline stops (Ctrl+C, or a terminating error further down it: a write here then throws), the work
    /// is cancelled and has ended before this returns or throws, so what the caller records next (a Cancelled receipt
    /// read from a journal) is what the work left.
    /// </summary>
    public Task<T> Run<T>(string activity, Func<Action<FanOutProgress>, CancellationToken, Task<T>> work, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var task = Task.Run(() => work(p => _messages.Add(p), stop.Token), stop.Token);
        var id = Math.Abs(activity.GetHashCode(StringComparison.Ordinal) % 1000) + 1;
        var shown = false;
        try
        {
            while (true)
            {
                if (_messages.TryTake(out var item, 100))
                {
                    Write(item, id, ref shown);
                    continue;
                }
                if (task.IsCompleted && _messages.Count == 0) break;
            }
        }
        catch
        {
            stop.Cancel();
            try { task.Wait(CancellationToken.None); } catch (AggregateException) { } // cancelled or failed: the caller reads what it left
            throw;
        }
        if (shown)
        {
            cmdlet.WriteProgress(new ProgressRecord(id, activity, "done") { RecordType = ProgressRecordType.Completed });
        }
        if (task.IsCanceled && cancel.IsCancellationRequested) throw new PipelineStoppedException();
        return task;
    }

    private void Write(object item, int id, ref bool shown)
    {
        switch (item)
        {
            case FanOutProgress p:
                var percent = p.Total == 0 ? 100 : (int)(100.0 * p.Completed / p.Total);
                cmdlet.WriteProgress(new ProgressRecord(id, p.Activity, $"{p.Completed}/{p.Total}: {p.Item}") { PercentComplete = Math.Clamp(percent, 0, 100) });
                shown = true;
                break;
            case ProgressRecord r:
                // a worker's own bar (one per item, e.g. per VM target), written as it is
                cmdlet.WriteProgress(r);
                break;
            case VerboseLine v:
                cmdlet.WriteVerbose(v.Text);
                break;
            default:
                cmdlet.WriteObject(item);
                break;
        }
    }

    public void Dispose() => _messages.Dispose();

    private sealed record VerboseLine(string Text);
}
