using System.Diagnostics;

namespace InfraRelocation.Core.Tests.Persistence;

/// <summary>Starts InfraRelocation.CrashHelper (copied next to the test assembly) as a separate process.</summary>
internal static class Child
{
    public static Process Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "InfraRelocation.CrashHelper.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build the test project.");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        var info = new ProcessStartInfo(string.IsNullOrEmpty(host) ? "dotnet" : host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The helper is killed with SIGKILL by design: without this, each killed runtime leaves its debugger pipes and
        // diagnostics socket in the temp folder (two crash tests kill hundreds of helpers).
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info) ?? throw new InvalidOperationException("Could not start the helper.");
    }

    /// <summary>Reads stdout lines until <paramref name="line"/> appears (fails after the timeout or when the child exits).</summary>
    public static void WaitForLine(Process process, string line, TimeSpan timeout)
    {
        var read = Task.Run(() =>
        {
            string? l;
            while ((l = process.StandardOutput.ReadLine()) is not null)
            {
                if (l == line)
                {
                    return true;
                }
            }
            return false;
        });
        Assert.True(read.Wait(timeout) && read.Result, $"The helper did not print '{line}'. stderr: {(process.HasExited ? process.StandardError.ReadToEnd() : "(running)")}");
    }

    /// <summary>Waits for exit and returns (exit code, stdout rest, stderr).</summary>
    public static (int Code, string Out, string Err) Finish(Process process, TimeSpan timeout)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The helper did not finish in time.");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
