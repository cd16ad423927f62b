package dev.berth.maven;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.client.ApiException;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;

/** Deploys the app from the spec file and waits for the rollout; fails the build when it failed, rolled back or paused. */
@Mojo(name = "apply", threadSafe = true)
public class ApplyMojo extends SpecMojo {
  @Override
  protected void run() throws MojoExecutionException, MojoFailureException, ApiException, java.io.IOException, InterruptedException {
    Document doc = document();
    JsonNode res = send("POST", with("/v1/clusters/" + seg(cluster) + "/apps", doc.query(), ""), doc.contentType(), doc.body(), idempotencyKey(doc.body()));
    for (JsonNode w : res.path("warnings")) getLog().warn("  " + w.path("path").asText() + ": " + w.path("message").asText());
    if (!res.path("changed").asBoolean(true) || res.path("operation").isMissingNode() || res.path("operation").isNull()) {
      getLog().info("Berth: " + doc.appName() + " on " + cluster + " is up to date");
      return;
    }
    getLog().info("Berth: applying " + doc.appName() + " revision " + res.path("revision").asText() + " on " + cluster);
    follow(res.path("operation").path("id").asText(), "apply of " + doc.appName());
  }
}
