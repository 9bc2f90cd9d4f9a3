using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace InfraRelocation.TestKit;

/// <summary>
/// A server a test starts as a child process: its output goes to a log file, it is ready when its loopback port
/// answers, and it is stopped by its own pid (SIGTERM, then its process tree is killed after a grace period).
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private ServerProcess(Process process, int port, string logPath)
    {
        Process = process;
        Port = port;
        LogPath = logPath;
    }

    public Process Process { get; }
    public int Pid => Process.Id;
    public int Port { get; }
    public string LogPath { get; }
    public bool HasExited => Process.HasExited;

    /// <summary>A loopback port nobody listens on right now (the OS picks it).</summary>
    public static int FreeLoopbackPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        try { return ((IPEndPoint)l.LocalEndpoint).Port; }
        finally { l.Stop(); }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with stdin from /dev/null and stdout+stderr appended to
    /// <paramref name="logPath"/>, then waits until 127.0.0.1:<paramref name="port"/> accepts a connection (and, with
    /// <paramref name="banner"/>, sends a first byte, as sshd does). Throws <see cref="TestServerUnavailableException"/>
    /// with the log's tail when the process exits first or the port stays silent until <paramref name="timeout"/>.
    /// </summary>
    public static ServerProcess Start(string fileName, IEnumerable<string> arguments, string logPath, int port, TimeSpan timeout,
        bool banner = true, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        // sh only redirects, then execs: the pid we keep is the server's own.
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$IR_SERVER_LOG\" 2>&1");
        psi.ArgumentList.Add(fileName);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["IR_SERVER_LOG"] = logPath;
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        var process = Process.Start(psi) ?? throw new TestServerUnavailableException($"could not start {fileName}");
        var server = new ServerProcess(process, port, logPath);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (process.HasExited)
                throw new TestServerUnavailableException($"{Path.GetFileName(fileName)} exited with {process.ExitCode}: {server.LogTail()}");
            if (Answers(port, banner)) return server;
            Thread.Sleep(100);
        }
        server.Stop();
        throw new TestServerUnavailableException($"{Path.GetFileName(fileName)} did not answer on 127.0.0.1:{port} within {timeout.TotalSeconds:0} s: {server.LogTail()}");
    }

    private static bool Answers(int port, bool banner)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            if (!banner) return true;
            c.ReceiveTimeout = 2000;
            return c.GetStream().Read(new byte[8], 0, 8) > 0;
        }
        catch (Exception ex) when (ex is SocketException or IOException) { return false; }
    }

    /// <summary>The last lines of the log (for failure messages).</summary>
    public string LogTail(int lines = 15)
    {
        try
        {
            var all = File.ReadAllLines(LogPath);
            return string.Join("\n", all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException) { return "(no log)"; }
    }

    /// <summary>SIGTERM, wait up to <paramref name="grace"/> (default 10 s), then kill this process and its descendants.</summary>
    public void Stop(TimeSpan? grace = null)
    {
        if (Process.HasExited) return;
        _ = Kill(Process.Id, SigTerm);
        if (!Process.WaitForExit(grace ?? TimeSpan.FromSeconds(10)))
        {
            try { Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* exited meanwhile */ }
            Process.WaitForExit(5000);
        }
    }

    public void Dispose()
    {
        Stop();
        Process.Dispose();
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>A fixture's server cannot run on this machine; the message says why (tests skip with it).</summary>
public sealed class TestServerUnavailableException(string reason) : Exception(reason);
