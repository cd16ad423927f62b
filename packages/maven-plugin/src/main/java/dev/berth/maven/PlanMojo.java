package dev.berth.maven;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;

/** Prints what berth:apply would change, changing nothing. */
@Mojo(name = "plan", threadSafe = true)
public class PlanMojo extends SpecMojo {
  @Override
  protected void run() throws MojoExecutionException, MojoFailureException, java.io.IOException, InterruptedException {
    Document doc = document();
    JsonNode plan = send("POST", with("/v1/clusters/" + seg(cluster) + "/apps/plan", doc.query(), ""), doc.contentType(), doc.body(), null);
    String name = plan.path("app").asText(doc.appName());
    getLog().info("Berth plan for " + name + " on " + cluster + ": " + (plan.path("changed").asBoolean() ? "changes" : "no changes"));
    for (JsonNode o : plan.path("objects")) {
      if ("unchanged".equals(o.path("action").asText())) continue;
      getLog().info("  " + o.path("action").asText() + " " + o.path("kind").asText() + " " + o.path("name").asText());
      for (JsonNode c : o.path("changes")) getLog().info("      " + c.path("path").asText() + ": " + describe(c.path("from")) + " -> " + describe(c.path("to")));
    }
    for (JsonNode w : plan.path("warnings")) getLog().warn("  " + w.path("path").asText() + ": " + w.path("message").asText());
  }
}
